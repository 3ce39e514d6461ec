import Foundation
import TestSupport
import Testing

/// Issue 4's fault tests, each ending in a figure: outages, partitions and hostile load, with
/// every sample accounted for from both ends.
@Suite("Faults", .serialized)
struct FaultTests {
    /// What an agent says when it stops: "N samples taken, A delivered, D dropped, L not delivered".
    struct Account: Equatable {
        var taken: Int
        var delivered: Int
        var dropped: Int
        var left: Int

        init?(log: String) {
            guard
                let match = log.firstMatch(
                    of: /(\d+) samples taken, (\d+) delivered, (\d+) dropped, (\d+) not delivered/),
                let taken = Int(match.1), let delivered = Int(match.2), let dropped = Int(match.3),
                let left = Int(match.4)
            else { return nil }
            (self.taken, self.delivered, self.dropped, self.left) = (taken, delivered, dropped, left)
        }
    }

    @Test("gateway SIGKILLed for 60 s under 50 agents at 1 s: every sample delivered after its restart")
    func gatewayOutage() async throws {
        let outage = Double(ProcessInfo.processInfo.environment["FAULT_OUTAGE_SECONDS"] ?? "60") ?? 60
        let first = try await GatewayProcess.start(extraConfiguration: "agent-timeout = 10s\nforget-after = 1h\n")
        let port = first.agentPort
        let names = (1...50).map { String(format: "fault-%02d", $0) }
        let agents = try names.map {
            try AgentProcess.start(name: $0, gatewayPort: port, interval: "1s", cpuWindow: "500ms")
        }
        defer { agents.forEach { $0.process.signal(SIGKILL) } }
        #expect(
            await eventually(timeout: 30) {
                let page = try first.metrics()
                return names.allSatisfy { (page.value("monitord_samples_received_total", agent: $0) ?? 0) >= 2 }
            })
        let before = try first.metrics()
        first.process.signal(SIGKILL)
        await first.process.waitForExit()
        try await Task.sleep(for: .seconds(outage))
        let second = try await GatewayProcess.start(agentPort: port)
        // What was taken during the outage arrives (replayed in order, about one sample per second
        // each; a starved agent may skip a tick, which the accounts below would show as not taken).
        // Every agent back within about 5 s of the restart (backoff capped at 4 s, issue 11): the
        // 30 s cap used to leave agents asleep past this test's patience.
        let restarted = Date()
        let replayed = await eventually(timeout: 60) {
            let page = try second.metrics()
            return names.allSatisfy {
                (page.value("monitord_samples_received_total", agent: $0) ?? 0) >= outage * 0.9
                    && page.value("monitord_agent_up", agent: $0) == 1
            }
        }
        #expect(replayed)
        let reconnection = Date().timeIntervalSince(restarted)
        print(
            "FIGURE gateway outage \(outage) s, 50 agents: all reconnected and replayed \(reconnection) s after the restart"
        )
        #expect(reconnection < 15, "agents took \(reconnection) s to come back")
        await withTaskGroup(of: Void.self) { group in
            for agent in agents { group.addTask { await agent.stop() } }
        }
        let after = try second.metrics()
        await second.stop()

        var lost = 0
        var taken = 0
        for (name, agent) in zip(names, agents) {
            guard let account = Account(log: agent.process.output) else {
                Issue.record("\(name) gave no account: \(agent.process.output.suffix(500))")
                continue
            }
            taken += account.taken
            lost += account.taken - account.delivered
            #expect(account.dropped == 0 && account.left == 0, "\(name): \(account)")
            #expect(account.delivered == account.taken, "\(name): \(account)")
            // The gateways' side: what the first counted before the kill plus what the second
            // counted covers every sample, within the one or two in flight around the kill.
            let counted =
                Int(before.value("monitord_samples_received_total", agent: name) ?? 0)
                + Int(after.value("monitord_samples_received_total", agent: name) ?? 0)
            #expect(abs(counted - account.taken) <= 2, "\(name): gateways counted \(counted) of \(account.taken)")
        }
        print("FIGURE gateway outage \(outage) s, 50 agents at 1 s: \(taken) samples taken, \(lost) lost")
        #expect(lost == 0)
    }

    @Test("a network partition (link down in a network namespace) and heal: the agent reconnects and replays")
    func partition() async throws {
        guard getuid() == 0,
            FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip")
                || FileManager.default.isExecutableFile(atPath: "/sbin/ip")
        else {
            print("SKIP partition test: needs root and iproute2")
            return
        }
        let network = try TestNetwork.create()
        defer { network.destroy() }
        let dir = try makeTemporaryDirectory()
        try """
        [monitord]
        listen = \(TestNetwork.gatewayAddress):5578
        metrics-listen = \(TestNetwork.gatewayAddress):8001
        agent-timeout = 2s
        """.write(toFile: dir + "/monitord.conf", atomically: true, encoding: .utf8)
        try """
        [agent]
        server = \(TestNetwork.gatewayAddress):5578
        name = partitioned
        interval = 200ms
        cpu-window = 100ms
        """.write(toFile: dir + "/agent.conf", atomically: true, encoding: .utf8)
        let gateway = try network.start(
            Products.monitord, configuration: dir + "/monitord.conf", in: network.gatewayNamespace,
            name: "monitord-netns")
        defer { gateway.signal(SIGKILL) }
        let agent = try network.start(
            Products.agent, configuration: dir + "/agent.conf", in: network.agentNamespace, name: "agent-netns")
        defer { agent.signal(SIGKILL) }

        func received() throws -> Double? {
            let page = try network.fetchMetrics()
            return page.value("monitord_samples_received_total", agent: "partitioned")
        }
        #expect(await eventually(timeout: 20) { try received() ?? 0 >= 3 }, "\(gateway.output)\n\(agent.output)")
        try network.setAgentLink(up: false)
        let partitionSeconds = 10.0
        try await Task.sleep(for: .seconds(partitionSeconds))
        #expect(try network.fetchMetrics().value("monitord_agent_up", agent: "partitioned") == 0)
        try network.setAgentLink(up: true)
        let countAtHeal = try received() ?? 0
        #expect(
            await eventually(timeout: 60) { try received() ?? 0 >= countAtHeal + partitionSeconds / 0.2 - 3 },
            "\(agent.output)")
        agent.signal(SIGTERM)
        await agent.waitForExit(timeout: 10)
        let account = try #require(Account(log: agent.output), "\(agent.output)")
        let counted = Int(try received() ?? 0)
        print(
            "FIGURE partition \(partitionSeconds) s: \(account.taken) taken, \(account.delivered) delivered, gateway counted \(counted)"
        )
        #expect(account.delivered == account.taken && account.dropped == 0)
        #expect(counted == account.taken, "the gateway counted \(counted) of \(account.taken) (it never restarted)")
    }

    @Test("the attack mix: a healthy agent keeps flowing, RSS stays bounded, /metrics stays valid")
    func attackMix() async throws {
        raiseOpenFileLimit(to: 8192)
        try await withGateway(
            extraConfiguration: "agent-timeout = 5s\nmax-connections-per-address = 5000\nhello-timeout = 10s\n"
        ) { gateway in
            let agent = try await gateway.startAgentAndAwaitSamples(named: "survivor")
            defer { agent.process.signal(SIGKILL) }
            let start = try #require(try gateway.metrics().value("monitord_samples_received_total", agent: "survivor"))
            let rssBefore = residentKiB(of: gateway.process.pid)

            // 2,000 idle connections, held open through the rest of the attack.
            let idle = try (0..<2000).map { _ in try LoopbackSocket(port: gateway.agentPort) }
            defer { idle.forEach { $0.close() } }
            var generator = SeededGenerator(seed: 4)
            await withTaskGroup(of: Void.self) { group in
                // 200 connections of random bytes.
                for index in 0..<200 {
                    let bytes = (0..<1024).map { _ in UInt8.random(in: 0...255, using: &generator) }
                    group.addTask { Self.send(bytes, to: gateway.agentPort, tag: index) }
                }
                // 5 × 4 MiB without a delimiter.
                for index in 0..<5 {
                    group.addTask {
                        Self.send(
                            Array(#"{"k":""#.utf8) + [UInt8](repeating: 0x61, count: 4 << 20), to: gateway.agentPort,
                            tag: index)
                    }
                }
                // Invalid, deeply nested, NaN and huge numbers.
                let bad = [
                    #"{"type":"hello""#, String(repeating: "[", count: 50_000),
                    String(repeating: #"{"a":"#, count: 50_000),
                    #"{"RAM usage: ": NaN, "CPU usage: ": 1, "currentProccessRAM: ": 1, "CPU interrupts: ": 1}"#,
                    #"{"RAM usage: ": 1e999, "CPU usage: ": 1, "currentProccessRAM: ": 1, "CPU interrupts: ": 1}"#,
                    #"{"RAM usage: ": 1, "CPU usage: ": 1, "currentProccessRAM: ": 1, "CPU interrupts: ": 99999999999999999999999}"#,
                ]
                for (index, text) in bad.enumerated() {
                    group.addTask { Self.send(Array(text.utf8), to: gateway.agentPort, tag: index) }
                }
                // Slow HTTP headers: a byte at a time on 20 connections.
                for _ in 0..<20 {
                    group.addTask { Self.slowHeaders(port: gateway.metricsPort) }
                }
            }
            let rssPeak = peakResidentKiB(of: gateway.process.pid)
            #expect(
                await eventually(timeout: 20) {
                    try gateway.metrics().value("monitord_samples_received_total", agent: "survivor") ?? 0 > start + 10
                }, "the healthy agent stopped flowing")
            let body = try gateway.metrics().text
            #expect(try Promtool.complaints(body) == [Promtool.acceptedComplaint])
            let boundKiB = 128 * 1024
            print(
                "FIGURE attack mix: monitord RSS \(rssBefore) KiB before, peak \(rssPeak) KiB (bound \(boundKiB) KiB)")
            // -1 means /proc could not be read: that must fail, not pass as a small RSS.
            #expect(rssBefore > 0 && rssPeak > 0, "monitord's /proc/PID/status could not be read")
            #expect(rssPeak < boundKiB)
            #expect(gateway.process.process.isRunning)
        }
    }

    static func send(_ bytes: [UInt8], to port: Int, tag: Int) {
        guard let socket = try? LoopbackSocket(port: port) else { return }
        try? socket.send(bytes)
        _ = try? socket.receiveAll(limit: 1 << 16)
        socket.close()
    }

    static func slowHeaders(port: Int) {
        guard let socket = try? LoopbackSocket(port: port) else { return }
        for byte in Array("GET /metrics HTTP/1.1\r\nX-Slow: ".utf8) {
            try? socket.send([byte])
            usleep(20_000)
        }
        socket.close()
    }
}

/// VmRSS of a process, KiB.
func residentKiB(of pid: Int32) -> Int { statusField("VmRSS", pid: pid) }
/// VmHWM (peak RSS) of a process, KiB.
func peakResidentKiB(of pid: Int32) -> Int { statusField("VmHWM", pid: pid) }

private func statusField(_ field: String, pid: Int32) -> Int {
    guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field + ":") })
    else { return -1 }
    return Int(line.split(separator: " ").dropFirst().first ?? "") ?? -1
}

func raiseOpenFileLimit(to wanted: rlim_t) {
    var limit = rlimit()
    getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    limit.rlim_cur = min(max(limit.rlim_cur, wanted), limit.rlim_max)
    setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
}
