import Foundation
import Synchronization
import TestSupport
import Testing

/// monitor-agent and monitord together, as deployed: delivery, outages and expiry.
@Suite("monitor-agent with monitord")
struct NativeAgentTests {
    @Test("the agent's four families appear under its announced name")
    func agentReports() async throws {
        try await withGateway { gateway in
            let agent = try AgentProcess.start(name: "e2e-web-01", gatewayPort: gateway.agentPort)
            defer { agent.process.signal(SIGKILL) }
            let reported = await eventually {
                let page = try gateway.metrics()
                return ExpositionPage.reportFamilies.allSatisfy { page.value($0, agent: "e2e-web-01") != nil }
            }
            #expect(reported, "gateway: \(gateway.process.output)\nagent: \(agent.process.output)")
            let page = try gateway.metrics()
            let rss = try #require(page.value("process_ram_gigabytes", agent: "e2e-web-01"))
            // The agent's own RSS in GiB: a small Swift process, between 1 MiB and 64 MiB.
            #expect(rss > 1.0 / 1024 && rss < 64.0 / 1024)
            #expect(page.value("monitord_agent_up", agent: "e2e-web-01") == 1)
            let lastSeen = try #require(page.value("monitord_agent_last_seen_timestamp_seconds", agent: "e2e-web-01"))
            #expect(abs(lastSeen - Date().timeIntervalSince1970) < 5)
        }
    }

    @Test(
        "an agent started with SIGHUP, SIGTERM and SIGINT blocked still reloads on SIGHUP and stops gracefully on SIGTERM"
    )
    func inheritedSignalMask() async throws {
        try await withGateway { gateway in
            let agent = try AgentProcess.start(
                name: "e2e-masked", gatewayPort: gateway.agentPort, blockingSignals: true)
            defer { agent.process.signal(SIGKILL) }
            let delivering = await eventually {
                (try gateway.metrics().value("monitord_samples_received_total", agent: "e2e-masked") ?? 0) >= 3
            }
            #expect(delivering, "agent: \(agent.process.output)")
            agent.process.signal(SIGHUP)
            #expect(
                await eventually { agent.process.output.contains("configuration reloaded") }, "\(agent.process.output)")
            await agent.stop()
            #expect(agent.process.output.contains("every sample delivered"), "\(agent.process.output)")
        }
    }

    @Test("the agent runs on two threads: its event loop, and the main thread waiting for it (no Dispatch thread)")
    func twoThreads() async throws {
        try await withGateway { gateway in
            let agent = try AgentProcess.start(name: "e2e-threads", gatewayPort: gateway.agentPort)
            defer { agent.process.signal(SIGKILL) }
            let delivering = await eventually {
                (try gateway.metrics().value("monitord_samples_received_total", agent: "e2e-threads") ?? 0) >= 3
            }
            #expect(delivering, "agent: \(agent.process.output)")
            // Over a second of samples (200 ms apart), every thread the process has, by name: a
            // Dispatch worker or manager thread (named after its queue) would wake every second.
            var seen: [String: String] = [:]
            for _ in 0..<10 {
                let tasks =
                    (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(agent.process.pid)/task")) ?? []
                for task in tasks {
                    let comm =
                        (try? String(contentsOfFile: "/proc/\(agent.process.pid)/task/\(task)/comm", encoding: .utf8))
                        ?? ""
                    seen[task] = comm.trimmingCharacters(in: .whitespacesAndNewlines)
                }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(seen.count == 2, "threads: \(seen)")
            #expect(seen.values.contains { $0.hasPrefix("NIO-ELT") }, "threads: \(seen)")
        }
    }

    @Test("a gateway restart loses nothing: the agent buffers, reconnects and replays")
    func gatewayRestart() async throws {
        let first = try await GatewayProcess.start()
        let port = first.agentPort
        let agent = try AgentProcess.start(name: "e2e-replay", gatewayPort: port)
        defer { agent.process.signal(SIGKILL) }
        #expect(
            await eventually {
                try first.metrics().value("monitord_samples_received_total", agent: "e2e-replay") ?? 0 >= 3
            })
        first.process.signal(SIGKILL)
        await first.process.waitForExit()
        let outageStart = Date()
        try await Task.sleep(for: .seconds(3))
        let second = try await GatewayProcess.start(agentPort: port)
        defer { Task { await second.stop() } }
        // Everything sampled during the outage (one sample per 200 ms) arrives, replayed in order.
        let outageSamples = Int(Date().timeIntervalSince(outageStart) / 0.2) - 2
        let replayed = await eventually(timeout: 30) {
            try second.metrics().value("monitord_samples_received_total", agent: "e2e-replay") ?? 0
                >= Double(outageSamples)
        }
        #expect(replayed, "agent log: \(agent.process.output)")
        #expect(try second.metrics().value("monitord_agent_up", agent: "e2e-replay") == 1)
        // A graceful stop delivers the rest: the agent says so.
        await agent.stop()
        #expect(agent.process.output.contains("every sample delivered"), "\(agent.process.output)")
        await second.stop()
    }

    @Test("an agent killed with SIGKILL: its series expire and monitord_agent_up drops to 0")
    func agentKilled() async throws {
        try await withGateway(extraConfiguration: "agent-timeout = 2s\nforget-after = 60s\n") { gateway in
            let agent = try AgentProcess.start(name: "e2e-doomed", gatewayPort: gateway.agentPort)
            #expect(
                await eventually {
                    let page = try gateway.metrics()
                    return page.value("monitord_agent_up", agent: "e2e-doomed") == 1
                        && ExpositionPage.reportFamilies.allSatisfy { page.value($0, agent: "e2e-doomed") != nil }
                })
            agent.process.signal(SIGKILL)
            let killedAt = Date()
            await agent.process.waitForExit()
            var expired = false
            var lastPage = ""
            var polls = 0
            while !expired, Date().timeIntervalSince(killedAt) < 10 {
                polls += 1
                do {
                    let page = try gateway.metrics()
                    lastPage = page.text
                    expired =
                        ExpositionPage.reportFamilies.allSatisfy { page.value($0, agent: "e2e-doomed") == nil }
                        && page.value("monitord_agent_up", agent: "e2e-doomed") == 0
                } catch {
                    lastPage = "\(error)"
                }
                if !expired { try await Task.sleep(for: .milliseconds(100)) }
            }
            #expect(expired, "after \(Date().timeIntervalSince(killedAt)) s, \(polls) polls: \(lastPage)")
        }
    }
}

@Suite("Failover")
struct FailoverTests {
    @Test("the agent moves to the second gateway when the first dies, and back once it returns; nothing lost")
    func failoverAndBack() async throws {
        let first = try await GatewayProcess.start()
        let firstPort = first.agentPort
        let second = try await GatewayProcess.start()
        defer { Task { await second.stop() } }
        let agent = try AgentProcess.start(
            name: "e2e-failover", gatewayPort: firstPort, servers: [firstPort, second.agentPort],
            extraConfiguration: "failback-after = 2s\n"
        )
        defer { agent.process.signal(SIGKILL) }
        #expect(
            await eventually {
                try first.metrics().value("monitord_samples_received_total", agent: "e2e-failover") ?? 0 >= 3
            })
        first.process.signal(SIGKILL)
        await first.process.waitForExit()
        #expect(
            await eventually {
                try second.metrics().value("monitord_samples_received_total", agent: "e2e-failover") ?? 0 >= 5
            },
            "agent: \(agent.process.output)")
        let restarted = try await GatewayProcess.start(agentPort: firstPort)
        defer { Task { await restarted.stop() } }
        #expect(
            await eventually(timeout: 20) {
                try restarted.metrics().value("monitord_agent_up", agent: "e2e-failover") == 1
                    && restarted.metrics().value("monitord_samples_received_total", agent: "e2e-failover") ?? 0 >= 3
            },
            """
            agent: \(agent.process.output)
            restarted gateway: \(restarted.process.output)
            metrics: \((try? restarted.metrics().text) ?? "none")
            """)
        await agent.stop()
        let account = try #require(FaultTests.Account(log: agent.process.output), "\(agent.process.output)")
        #expect(account.delivered == account.taken && account.dropped == 0 && account.left == 0, "\(account)")
    }
}

/// How a first gateway can welcome an agent and still take nothing from it (outside audit 3/05, 06).
enum UselessGateway: String, CaseIterable, Sendable, CustomStringConvertible {
    /// Welcomes, then refuses the first sample (a real gateway whose disk is full does this).
    case refuses
    /// Welcomes and reads, never acknowledges.
    case neverAcknowledges
    /// Welcomes, then sends one blank every 300 ms: bytes, but no message and no progress.
    case sendsBlanks
    /// Welcomes, acknowledges the first sample, then repeats that same `ack 1` every 200 ms while
    /// reading everything: messages, but none that acknowledges anything new (outside audit 4/14).
    case repeatsStaleAck

    var description: String { rawValue }

    /// Serves every connection that way until `until`.
    func serve(_ gateway: ScriptedGateway, until end: Date) async {
        while let connection = await gateway.accept(timeout: end.timeIntervalSinceNow) {
            defer { connection.close() }
            guard await connection.readHello(timeout: 5) != nil else { continue }
            await connection.send(HostileGatewayTests.welcome)
            switch self {
            case .refuses:
                _ = await connection.readSample(timeout: 5)
                await connection.send(#"{"type":"error","reason":"the gateway could not keep the samples"}"# + "\n")
                _ = await connection.waitForPeerClose(timeout: 2)
            case .neverAcknowledges:
                _ = await connection.waitForPeerClose(timeout: end.timeIntervalSinceNow)
            case .sendsBlanks:
                while Date() < end, !connection.peerClosed {
                    guard await connection.send(" ") else { break }
                    _ = await connection.waitForPeerClose(timeout: 0.3)
                }
            case .repeatsStaleAck:
                guard await connection.readSample(timeout: 5) == 1 else { continue }
                while Date() < end, !connection.peerClosed {
                    guard await connection.send(HostileGatewayTests.ack("1")) else { break }
                    _ = await connection.waitForPeerClose(timeout: 0.2)
                }
            }
        }
    }
}

@Suite("Failover from a gateway that takes nothing", .serialized)
struct UselessGatewayFailoverTests {
    @Test(
        "a first gateway that welcomes but takes no sample counts as failed: the agent delivers to the second",
        arguments: UselessGateway.allCases)
    func movesOn(behaviour: UselessGateway) async throws {
        let useless = try ScriptedGateway()
        let honest = try await GatewayProcess.start()
        defer { Task { await honest.stop() } }
        let end = Date().addingTimeInterval(25)
        let serving = Task { await behaviour.serve(useless, until: end) }
        defer {
            serving.cancel()
            useless.close()
        }
        let agent = try AgentProcess.start(
            name: "moves-on", gatewayPort: useless.port, servers: [useless.port, honest.agentPort])
        defer { agent.process.signal(SIGKILL) }
        #expect(
            await eventually(timeout: 20) {
                try honest.metrics().value("monitord_samples_received_total", agent: "moves-on") ?? 0 >= 3
            },
            "\(behaviour): \(agent.process.output)\ngateway: \(honest.process.output)\n\((try? honest.metrics().text) ?? "no page")"
        )
    }
}

extension UselessGatewayFailoverTests {
    @Test(
        "a first gateway that acknowledges late, with stale acks in between, but whose acks advance is kept"
    )
    func keepsALateAcker() async throws {
        let slow = try ScriptedGateway()
        let honest = try await GatewayProcess.start()
        defer { Task { await honest.stop() } }
        let end = Date().addingTimeInterval(9)
        let connections = Mutex(0)
        let serving = Task {
            while let connection = await slow.accept(timeout: end.timeIntervalSinceNow) {
                defer { connection.close() }
                connections.withLock { $0 += 1 }
                guard await connection.readHello(timeout: 5) != nil else { continue }
                await connection.send(HostileGatewayTests.welcome)
                // Every 1.2 s (within the agent's 2 s silence deadline, but well behind its 200 ms
                // interval) the newest sample read is acknowledged; a stale ack every 200 ms between.
                var newest: UInt64 = 0
                var acknowledged: UInt64 = 0
                var nextAck = Date().addingTimeInterval(1.2)
                while Date() < end, !connection.peerClosed {
                    while let sequence = await connection.readSample(timeout: 0.01) { newest = sequence }
                    if Date() >= nextAck, newest > acknowledged {
                        acknowledged = newest
                        nextAck = Date().addingTimeInterval(1.2)
                    }
                    if acknowledged > 0 {
                        guard await connection.send(HostileGatewayTests.ack("\(acknowledged)")) else { break }
                    }
                    try? await Task.sleep(for: .milliseconds(200))
                }
            }
        }
        defer {
            serving.cancel()
            slow.close()
        }
        let agent = try AgentProcess.start(
            name: "late-acks", gatewayPort: slow.port, servers: [slow.port, honest.agentPort])
        defer { agent.process.signal(SIGKILL) }
        try await Task.sleep(for: .seconds(8))
        #expect(connections.withLock { $0 } == 1, "\(agent.process.output)")
        #expect(!agent.process.output.contains("acknowledges nothing new"), "\(agent.process.output)")
        #expect(try honest.metrics().value("monitord_samples_received_total", agent: "late-acks") ?? 0 == 0)
    }

    @Test(
        "a gateway whose acks come after the next sample went out: the agent still gives back its once-run pages (audit 16, F5)"
    )
    func releasesPagesBehindLateAcks() async throws {
        let late = try ScriptedGateway()
        let end = Date().addingTimeInterval(6)
        let serving = Task {
            guard let connection = await late.accept(timeout: 5) else { return }
            defer { connection.close() }
            guard await connection.readHello(timeout: 5) != nil else { return }
            await connection.send(HostileGatewayTests.welcome)
            // Each sample is acknowledged when the next one arrives: one always outstanding.
            var previous: UInt64 = 0
            while Date() < end, !connection.peerClosed {
                guard let sequence = await connection.readSample(timeout: 1) else { continue }
                if previous > 0 { guard await connection.send(HostileGatewayTests.ack("\(previous)")) else { break } }
                previous = sequence
            }
        }
        defer {
            serving.cancel()
            late.close()
        }
        let agent = try AgentProcess.start(
            name: "late-acker", gatewayPort: late.port, extraConfiguration: "log-level = debug\n")
        defer { agent.process.signal(SIGKILL) }
        #expect(
            await eventually(timeout: 5) { agent.process.output.contains("pages of code that ran once given back") },
            "\(agent.process.output)")
    }

    @Test("a gateway flooding keepalives (ack 0) is left, not served with a core (audit 16, F7)")
    func leavesAKeepaliveFlood() async throws {
        let flooder = try ScriptedGateway()
        let end = Date().addingTimeInterval(8)
        let serving = Task {
            guard let connection = await flooder.accept(timeout: 5) else { return }
            defer { connection.close() }
            guard await connection.readHello(timeout: 5) != nil else { return }
            await connection.send(HostileGatewayTests.welcome)
            let flood = String(repeating: HostileGatewayTests.ack("0"), count: 200)
            while Date() < end, !connection.peerClosed {
                guard await connection.send(flood) else { break }
            }
        }
        defer {
            serving.cancel()
            flooder.close()
        }
        let agent = try AgentProcess.start(name: "flooded", gatewayPort: flooder.port)
        defer { agent.process.signal(SIGKILL) }
        #expect(
            await eventually(timeout: 6) { agent.process.output.contains("keepalives or acks of nothing new") },
            "\(agent.process.output)")
    }

    @Test(
        "a gateway that acks every sample but floods blanks between them is left and backed off from, not served with a core nor reconnected to each second (audit 18, F2, F3)"
    )
    func leavesABlankFlood() async throws {
        let flooder = try ScriptedGateway()
        let end = Date().addingTimeInterval(10)
        let connections = Mutex(0)
        let serving = Task {
            while let connection = await flooder.accept(timeout: end.timeIntervalSinceNow) {
                defer { connection.close() }
                connections.withLock { $0 += 1 }
                guard await connection.readHello(timeout: 5) != nil else { continue }
                await connection.send(HostileGatewayTests.welcome)
                // Blanks are allowed between messages: the decoder never hands them on.
                let blanks = String(repeating: " ", count: 64)
                while Date() < end, !connection.peerClosed {
                    if let sequence = await connection.readSample(timeout: 0.001) {
                        guard await connection.send(HostileGatewayTests.ack("\(sequence)")) else { break }
                    }
                    guard await connection.send(blanks) else { break }
                }
            }
        }
        defer {
            serving.cancel()
            flooder.close()
        }
        let agent = try AgentProcess.start(
            name: "blank-flooded", gatewayPort: flooder.port, interval: "100ms",
            extraConfiguration: "log-level = debug\n")
        defer { agent.process.signal(SIGKILL) }
        #expect(
            await eventually(timeout: 6) { agent.process.output.contains("floods the connection") },
            "\(agent.process.output)")
        try await Task.sleep(for: .seconds(Date().distance(to: end)))
        // Backing off (waits doubling up to 4 s): a handful of connections in 10 s, not one a second.
        let made = connections.withLock { $0 }
        #expect(made <= 7, "\(made) connections in 10 s: \(agent.process.output)")
        let warnings = agent.process.output.split(separator: "\n").filter { $0.contains("floods the connection") }
        #expect(warnings.count <= 2, "\(warnings.count) warnings: \(agent.process.output)")
        // And what each round touched goes back before the wait (audit 18, F1, F4).
        #expect(agent.process.output.contains("given back before the next round"), "\(agent.process.output)")
        // Nor is each round's connection to it news: announced once, then at debug.
        let connects = agent.process.output.split(separator: "\n").filter {
            $0.contains(" notice ") && $0.contains("connected to")
        }
        #expect(connects.count <= 2, "\(connects.count) connections announced: \(agent.process.output)")
    }

    @Test(
        "a gateway that sends junk after each welcome, or urgent bytes, has failed: backed off from, logged once (audit 20, F1, F2)",
        arguments: [false, true]
    )
    func leavesJunkAndUrgentBytes(urgent: Bool) async throws {
        let gateway = try ScriptedGateway()
        let end = Date().addingTimeInterval(10)
        let connections = Mutex(0)
        let serving = Task {
            while let connection = await gateway.accept(timeout: end.timeIntervalSinceNow) {
                defer { connection.close() }
                connections.withLock { $0 += 1 }
                guard await connection.readHello(timeout: 5) != nil else { continue }
                await connection.send(HostileGatewayTests.welcome)
                if urgent {
                    // 200 urgent bytes a second: each a wake-up no read would see, were they kept apart.
                    while Date() < end, !connection.peerClosed, connection.sendUrgent(UInt8(ascii: "!")) {
                        try? await Task.sleep(for: .milliseconds(5))
                    }
                } else {
                    await connection.send("!")
                    _ = await connection.waitForPeerClose(timeout: 5)
                }
            }
        }
        defer {
            serving.cancel()
            gateway.close()
        }
        let agent = try AgentProcess.start(name: "junk-\(urgent)", gatewayPort: gateway.port, interval: "100ms")
        defer { agent.process.signal(SIGKILL) }
        try await Task.sleep(for: .seconds(Date().distance(to: end)))
        let made = connections.withLock { $0 }
        let lines = agent.process.output.split(separator: "\n")
        let failures = lines.filter { $0.contains("protocol error") || $0.contains("lost connection") }
        #expect(made >= 2, "the agent did not come back: \(agent.process.output)")
        #expect(made <= 7, "\(made) connections in 10 s: \(agent.process.output)")
        #expect(failures.count <= 2, "\(failures.count) warnings: \(agent.process.output)")
    }

    @Test(
        "over TLS, a connection the agent ends (junk after the welcome) is closed at once, not after the peer's close_notify that never comes (audit 23, F1)"
    )
    func endsATLSConnectionAtOnce() async throws {
        let certificates = try Certificates.make()
        let dir = try makeTemporaryDirectory()
        // A TLS gateway that welcomes, sends one line that is no message, and then neither answers
        // the agent's close_notify nor closes: it reports how long the agent kept the connection.
        let script = """
            import os, select, socket, ssl, sys, time
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(sys.argv[1], sys.argv[2])
            server = socket.socket()
            server.bind(("127.0.0.1", 0))
            server.listen(8)
            print(server.getsockname()[1], flush=True)
            raw, _ = server.accept()
            tls = context.wrap_socket(raw, server_side=True)
            hello = b""
            while b"\\n" not in hello:
                hello += tls.recv(4096)
            tls.sendall(b'{"type":"welcome","protocol":1}\\n')
            time.sleep(0.3)
            tls.sendall(b"junk that is no message\\n")
            start = time.monotonic()
            tls.settimeout(0.05)
            notified = False
            while time.monotonic() - start < 10:
                if not notified:
                    try:
                        # b"" is the agent's close_notify (or its TCP close).
                        notified = tls.recv(4096) == b""
                    except socket.timeout:
                        continue
                    except ssl.SSLZeroReturnError:
                        notified = True
                    except OSError:
                        break
                else:
                    # The close_notify came; not answered. The TCP close is what is timed.
                    if select.select([tls.fileno()], [], [], 0.05)[0]:
                        try:
                            if os.read(tls.fileno(), 1) == b"":
                                break
                        except OSError:
                            break
            print("closed after %.2f" % (time.monotonic() - start), flush=True)
            time.sleep(30)
            """
        try script.write(toFile: dir + "/silent.py", atomically: true, encoding: .utf8)
        let gateway = try RunningProcess(
            executable: "/usr/bin/env",
            arguments: ["python3", dir + "/silent.py", certificates.serverCertificate, certificates.serverKey],
            name: "silent-tls-gateway")
        defer { gateway.signal(SIGKILL) }
        #expect(await eventually(timeout: 10) { Int(gateway.output.split(separator: "\n").first ?? "") != nil })
        let port = try #require(Int(gateway.output.split(separator: "\n").first ?? ""))
        let agent = try AgentProcess.start(
            name: "tls-junk", gatewayPort: port, interval: "1s", extraConfiguration: certificates.agentConfiguration())
        defer { agent.process.signal(SIGKILL) }
        #expect(await eventually(timeout: 20) { gateway.output.contains("closed after") }, "\(gateway.output)")
        let line = gateway.output.split(separator: "\n").first { $0.hasPrefix("closed after") } ?? ""
        let seconds = Double(line.dropFirst("closed after ".count)) ?? .infinity
        print("FIGURE TLS connection ended by the agent closed \(seconds) s after the junk")
        #expect(seconds < 2, "the agent kept the connection \(seconds) s: \(agent.process.output.suffix(1500))")
    }

    @Test("a first server that fails at its welcome is logged once per kind of failure, however often it fails")
    func logsAnEarlierServersFailure() async throws {
        let broken = try ScriptedGateway()
        let honest = try await GatewayProcess.start()
        defer { Task { await honest.stop() } }
        let end = Date().addingTimeInterval(20)
        let connections = Mutex(0)
        let serving = Task {
            while let connection = await broken.accept(timeout: end.timeIntervalSinceNow) {
                defer { connection.close() }
                connections.withLock { $0 += 1 }
                guard await connection.readHello(timeout: 5) != nil else { continue }
                await connection.send(#"{"type":"welcome","protocol":2}"# + "\n")
                _ = await connection.waitForPeerClose(timeout: 2)
            }
        }
        defer {
            serving.cancel()
            broken.close()
        }
        // failback-after = 1s: the agent goes back to the broken first server every second.
        let agent = try AgentProcess.start(
            name: "broken-first", gatewayPort: broken.port, servers: [broken.port, honest.agentPort],
            extraConfiguration: "failback-after = 1s\n")
        defer { agent.process.signal(SIGKILL) }
        #expect(
            await eventually(timeout: 18) { connections.withLock { $0 } >= 4 },
            "\(agent.process.output)")
        let mentions = agent.process.output.split(separator: "\n").filter {
            $0.contains("127.0.0.1:\(broken.port) failed") && $0.contains("protocol")
        }
        #expect(mentions.count == 1, "\(agent.process.output)")
        #expect(try honest.metrics().value("monitord_samples_received_total", agent: "broken-first") ?? 0 > 0)
    }

    @Test("no server reachable for many rounds: the warning is logged once, not at every round (audit 13, F3)")
    func outageWarnedOnce() async throws {
        // A port nothing listens on: every round fails at once and the backoff (0.5 s to 4 s) repeats it.
        let closed = try ScriptedGateway()
        let port = closed.port
        closed.close()
        let agent = try AgentProcess.start(name: "no-server", gatewayPort: port)
        defer { agent.process.signal(SIGKILL) }
        try await Task.sleep(for: .seconds(12))
        let warnings = agent.process.output.split(separator: "\n").filter {
            $0.contains("cannot reach any server that takes samples")
        }
        let failures = agent.process.output.split(separator: "\n").filter { $0.contains("127.0.0.1:\(port) failed") }
        #expect(warnings.count == 1 && failures.count == 1, "\(agent.process.output)")
    }
}

@Suite("Sampling schedule")
struct SamplingScheduleTests {
    @Test("cpu-window equal to interval keeps one sample per interval (no skipped ticks)")
    func windowEqualsInterval() async throws {
        let agent = try AgentProcess.start(name: "e2e-schedule", gatewayPort: 1, interval: "250ms", cpuWindow: "250ms")
        try await Task.sleep(for: .seconds(3))
        await agent.stop()
        let account = try #require(FaultTests.Account(log: agent.process.output), "\(agent.process.output)")
        // 3 s at 250 ms is 12 ticks; start-up and the stop take a little of it.
        #expect(account.taken >= 9, "\(account.taken) samples in 3 s at 250 ms")
    }
}
