import Foundation
import TestSupport
import Testing

/// SIGHUP: a valid file is applied live (ports moved, timeouts changed), a broken one refused.
@Suite("Reload")
struct ReloadTests {
    /// Audit 7, 06: a reload requiring TLS (or client certificates) on the HTTP port did not reach a
    /// keep-alive connection opened before it, which went on getting pages in clear text.
    @Test("a reload closes HTTP keep-alive connections at their next request, unanswered")
    func reloadClosesKeepAliveConnections() async throws {
        try await withGateway { gateway in
            let socket = try LoopbackSocket(port: gateway.metricsPort)
            defer { socket.close() }
            try socket.send(Array("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
            try await Task.sleep(for: .milliseconds(500))
            gateway.process.signal(SIGHUP)
            #expect(await eventually { gateway.process.output.contains("configuration reloaded") })
            try socket.send(Array("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
            let answers =
                String(decoding: try socket.receiveAll(), as: UTF8.self)
                .components(separatedBy: "HTTP/1.1 200 OK").count - 1
            #expect(answers == 1, "the request after the reload was answered on the old connection")
            #expect(try HTTPClient.get(port: gateway.metricsPort, path: "/metrics").status == 200)
        }
    }

    /// Audit 7, 07: a reload that requires TLS and refuses the report's format left the plain-TCP
    /// agent and the report-format peer connected before it delivering for as long as they liked.
    @Test("a reload requiring TLS and refusing the report's format closes the peers it no longer admits")
    func reloadClosesPeersItNoLongerAdmits() async throws {
        let certificates = try Certificates.make()
        try await withGateway { gateway in
            let native = try HostilePeer(port: gateway.agentPort)
            defer { native.close() }
            try native.send(line: HostileMessages.hello(agent: "\"plain-agent\""))
            #expect(native.nextLine(timeout: 10)?.contains("welcome") == true)
            let report = try HostilePeer(port: gateway.agentPort)
            defer { report.close() }
            try report.send(line: HostileMessages.reportFormat())
            #expect(await eventually { try gateway.metrics().value("monitord_agent_up", agent: "agent_1") == 1 })
            let original = try String(contentsOfFile: gateway.configPath, encoding: .utf8)
            try
                (original + """
                    tls-certificate = \(certificates.serverCertificate)
                    tls-key = \(certificates.serverKey)
                    allow-legacy-agents = no

                    """).write(toFile: gateway.configPath, atomically: true, encoding: .utf8)
            gateway.process.signal(SIGHUP)
            #expect(await eventually { gateway.process.output.contains("configuration reloaded") })
            #expect(native.nextLine(timeout: 10)?.contains("requires TLS") == true)
            #expect(report.nextLine(timeout: 10)?.contains("allow-legacy-agents = no") == true)
            #expect(
                gateway.process.output.contains("disconnected 2 peer(s) the reloaded configuration no longer admits"))
        }
    }

    @Test("SIGHUP moves the metrics port, keeps serving agents, and refuses a broken file")
    func reloadMovesPortsAndRefusesBrokenFiles() async throws {
        try await withGateway { gateway in
            let agent = try AgentProcess.start(name: "e2e-reload", gatewayPort: gateway.agentPort)
            defer { agent.process.signal(SIGKILL) }
            #expect(await eventually { try gateway.metrics().value("monitord_agent_up", agent: "e2e-reload") == 1 })

            // A valid change: the metrics port moves; the agent's connection is untouched.
            let newPort = try freeLoopbackPort()
            let original = try String(contentsOfFile: gateway.configPath, encoding: .utf8)
            let moved = original.replacingOccurrences(
                of: "metrics-listen = 127.0.0.1:0", with: "metrics-listen = 127.0.0.1:\(newPort)")
            #expect(moved != original)
            try moved.write(toFile: gateway.configPath, atomically: true, encoding: .utf8)
            gateway.process.signal(SIGHUP)
            #expect(
                await eventually {
                    try HTTPClient.get(port: newPort, path: "/metrics").body.contains("e2e-reload")
                }, "\(gateway.process.output)")
            #expect(
                (try? HTTPClient.get(port: gateway.metricsPort, path: "/metrics")) == nil, "the old port still serves")
            #expect(gateway.process.output.contains("configuration reloaded"))

            // A broken file: refused with file:line, the running configuration kept.
            try (moved + "\nno-such-key = 1\n").write(toFile: gateway.configPath, atomically: true, encoding: .utf8)
            gateway.process.signal(SIGHUP)
            #expect(
                await eventually {
                    gateway.process.output.contains("configuration reload refused")
                        && gateway.process.output.contains("\(gateway.configPath):")
                }, "\(gateway.process.output)")
            #expect(gateway.process.process.isRunning)
            let samplesBefore = try #require(
                try HTTPClient.get(port: newPort, path: "/metrics").body.firstMatch(
                    of: /monitord_samples_received_total\{agent_number="e2e-reload"\} (\d+)/
                ).flatMap { Double($0.1) })
            #expect(
                await eventually {
                    let body = try HTTPClient.get(port: newPort, path: "/metrics").body
                    let now = body.firstMatch(of: /monitord_samples_received_total\{agent_number="e2e-reload"\} (\d+)/)
                        .flatMap { Double($0.1) }
                    return now ?? 0 > samplesBefore
                }, "samples stopped flowing after a refused reload")
        }
    }

    /// "monitord" or "monitor-agent" as the startup-signal tests run it: its binary, the line it logs
    /// once it runs, and a configuration file of its own (loopback, port 0).
    struct StartingDaemon {
        let executable: String
        let readyLine: String
        let configuration: String

        init(_ name: String) throws {
            executable = Self.executable(of: name)
            readyLine = name == "monitord" ? "listening: agents on" : "sampling as"
            configuration = try makeTemporaryDirectory() + "/\(name).conf"
            let text =
                name == "monitord"
                ? "[monitord]\nlisten = 127.0.0.1:0\nmetrics-listen = 127.0.0.1:0\n"
                : "[agent]\nserver = 127.0.0.1:9\nname = e2e-early-hup\ninterval = 200ms\ncpu-window = 100ms\n"
            try text.write(toFile: configuration, atomically: true, encoding: .utf8)
        }

        /// The binary of "monitord" or "monitor-agent".
        static func executable(of name: String) -> String {
            name == "monitord" ? Products.monitord : Products.agent
        }

        /// The daemon, started on its configuration.
        func start() throws -> RunningProcess {
            try RunningProcess(executable: executable, arguments: ["--config", configuration])
        }
    }

    @Test(
        "SIGHUP 0, 10, 50 and 100 ms after exec, many times: both daemons keep running; SIGTERM then stops gracefully",
        arguments: ["monitord", "monitor-agent"])
    func signalsWhileStarting(daemon: String) async throws {
        let starting = try StartingDaemon(daemon)
        for delay in [0, 10, 50, 100] {
            for run in 0..<3 {
                let process = try starting.start()
                defer { process.signal(SIGKILL) }
                if delay > 0 { try await Task.sleep(for: .milliseconds(delay)) }
                process.signal(SIGHUP)
                #expect(
                    await eventually { process.output.contains(starting.readyLine) || !process.process.isRunning },
                    "\(daemon), SIGHUP at \(delay) ms, run \(run): \(process.output)")
                try await Task.sleep(for: .milliseconds(300))
                #expect(
                    process.process.isRunning,
                    "\(daemon) died of a SIGHUP \(delay) ms after exec (run \(run)): \(process.output)")
                await process.stop()
            }
        }
        // SIGTERM right after exec: a graceful stop (exit 0), not death by the signal (143).
        let process = try starting.start()
        defer { process.signal(SIGKILL) }
        process.signal(SIGTERM)
        #expect(await process.waitForExit(timeout: 20) == 0, "\(daemon): \(process.output)")
        #expect(process.process.terminationReason == .exit, "\(daemon): \(process.output)")
    }

    @Test(
        "300 SIGHUPs at once make at most a few reloads of the file as it then is, and a SIGTERM right after is not kept waiting",
        arguments: ["monitord", "monitor-agent"])
    func hangupStormCoalesces(daemon: String) async throws {
        let starting = try StartingDaemon(daemon)
        let configuration = starting.configuration
        let process = try starting.start()
        defer { process.signal(SIGKILL) }
        #expect(await eventually { process.output.contains(starting.readyLine) }, "\(process.output)")
        // Changed before the storm: a reload that reads it says so (log-level waits for a restart).
        let original = try String(contentsOfFile: configuration, encoding: .utf8)
        // Padded with comments to nearly the 1 MiB a configuration may have, so that a reload (which
        // reads and parses it all) outlasts the storm on any machine: the reads alone took that long
        // while they grew arrays byte by byte; now they are one copy and a bare reload is quicker
        // than the storm.
        let padding = String(
            repeating: "# a reload reads and parses every line of this file, this one too\n", count: 14_000)
        try (original + "log-level = debug\n" + padding).write(toFile: configuration, atomically: true, encoding: .utf8)
        // 20 µs apart (about 10 ms in all, shorter than a reload of the padded file): far enough for
        // most to reach the daemon on their own (the kernel merges a signal sent while the same one
        // is still pending), and so to queue a reload each before the fix (hundreds).
        for _ in 0..<300 {
            process.signal(SIGHUP)
            let next = ContinuousClock.now.advanced(by: .microseconds(20))
            while ContinuousClock.now < next {}
        }
        // The first reload under way: a SIGTERM overtakes a waiting reload (by design), so one must
        // have started for the changed file to be read at all.
        #expect(
            await eventually(every: .milliseconds(5)) { process.output.contains("configuration reloaded") },
            "\(process.output)")
        let start = Date()
        process.signal(SIGTERM)
        let status = await process.waitForExit(timeout: 30)
        let stopping = Date().timeIntervalSince(start)
        #expect(status == 0, "\(daemon): \(process.output)")
        #expect(stopping < 2, "\(daemon) took \(stopping) s to stop after the storm: \(process.output)")
        let reloads = process.output.components(separatedBy: "configuration reloaded").count - 1
        #expect((1...3).contains(reloads), "\(daemon) reloaded \(reloads) times: \(process.output)")
        #expect(
            process.output.contains("log-level changes take effect at the next restart"),
            "\(daemon) never read the changed file: \(process.output)")
    }

    /// Execs `executable` from a Python parent that blocked `signal` and sent it to itself: the
    /// daemon starts with the signal already pending and blocked (both survive exec), the surest
    /// way to deliver one before a single instruction of the daemon has run.
    static func startWithPendingSignal(_ signal: String, executable: String, configuration: String) throws
        -> RunningProcess
    {
        let script = """
            import os, signal, sys
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.\(signal)})
            os.kill(os.getpid(), signal.\(signal))
            os.execv(sys.argv[1], sys.argv[1:])
            """
        return try RunningProcess(
            executable: "/usr/bin/python3", arguments: ["-c", script, executable, "--config", configuration],
            name: (executable as NSString).lastPathComponent)
    }

    @Test(
        "a SIGHUP pending and blocked at exec is heard: the daemon unblocks it, keeps running and reloads",
        arguments: ["monitord", "monitor-agent"])
    func signalPendingAtExec(daemon: String) async throws {
        let starting = try StartingDaemon(daemon)
        let process = try Self.startWithPendingSignal(
            "SIGHUP", executable: starting.executable, configuration: starting.configuration)
        defer { process.signal(SIGKILL) }
        #expect(
            await eventually { process.output.contains("configuration reloaded") || !process.process.isRunning },
            "\(daemon) never heard the SIGHUP pending at exec: \(process.output)")
        #expect(process.output.contains("SIGHUP received while starting"), "\(process.output)")
        #expect(process.process.isRunning, "\(daemon): \(process.output)")
        // And the reload left SIGHUP working: a second one reloads again.
        process.signal(SIGHUP)
        #expect(
            await eventually { process.output.components(separatedBy: "configuration reloaded").count == 3 },
            "\(daemon): \(process.output)")
        await process.stop()
        #expect(process.process.terminationStatus == 0, "\(daemon): \(process.output)")
    }

    @Test(
        "the daemons hold SIGHUP, SIGTERM and SIGINT before the Swift runtime starts: their first signal action",
        arguments: ["monitord", "monitor-agent"])
    func signalsHeldBeforeTheRuntime(daemon: String) async throws {
        // The window audit 3 found (a SIGHUP in the first milliseconds after exec killed the daemon)
        // is the time before `main`. strace lists every change of a signal's action in order: the
        // first ones must be ours, before the runtime's crash handlers and before any thread exists.
        let executable = StartingDaemon.executable(of: daemon)
        let trace = try makeTemporaryDirectory() + "/trace"
        let strace = try RunningProcess(
            executable: "/usr/bin/strace",
            arguments: ["-f", "-qq", "-e", "trace=rt_sigaction,clone,clone3", "-o", trace, executable, "--version"])
        #expect(await strace.waitForExit(timeout: 30) == 0, "\(strace.output)")
        let calls = try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n").filter {
            !$0.contains("+++") && !$0.contains("---")
        }
        let firstThree = calls.prefix(3).map { String($0) }
        for (index, signal) in ["SIGHUP", "SIGTERM", "SIGINT"].enumerated() {
            #expect(
                firstThree.count == 3 && firstThree[index].contains("rt_sigaction(\(signal), {sa_handler=0x"),
                "\(daemon): call \(index + 1) should install a handler for \(signal); the trace begins:\n\(calls.prefix(8).joined(separator: "\n"))"
            )
        }
    }
}
