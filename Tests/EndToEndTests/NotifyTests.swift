import Foundation
import TestSupport
import Testing

/// The daemons' sd_notify traffic, received on a datagram socket of the test's own (no systemd
/// needed): READY, STATUS, WATCHDOG at half the watchdog period, RELOADING/READY around SIGHUP,
/// STOPPING on SIGTERM.
@Suite("sd_notify")
struct NotifyTests {
    /// A bound AF_UNIX datagram socket collecting what the daemon sends.
    final class NotifySocket: @unchecked Sendable {
        let path: String
        private let fd: Int32

        init() throws {
            path = NSTemporaryDirectory() + "notify-\(UUID().uuidString.prefix(8)).sock"
            fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (index, byte) in path.utf8.enumerated() where index < raw.count - 1 { raw[index] = byte }
            }
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            guard bound == 0 else { throw E2EError("bind \(path): errno \(errno)") }
            var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        }

        /// Messages received until `seconds` pass, each with its arrival time.
        func receive(for seconds: Double) -> [(Date, String)] {
            var messages: [(Date, String)] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                if count > 0 { messages.append((Date(), String(decoding: buffer[0..<count], as: UTF8.self))) }
            }
            return messages
        }

        deinit {
            close(fd)
            unlink(path)
        }
    }

    @Test("monitord and monitor-agent: READY, STATUS, WATCHDOG every WATCHDOG_USEC/2, RELOADING then READY, STOPPING")
    func notifications() async throws {
        let dir = try makeTemporaryDirectory()
        for daemon in ["monitord", "monitor-agent"] {
            let socket = try NotifySocket()
            let config = dir + "/\(daemon).conf"
            let text =
                daemon == "monitord"
                ? "[monitord]\nlisten = 127.0.0.1:0\nmetrics-listen = 127.0.0.1:0\n"
                : "[agent]\nserver = 127.0.0.1:1\nname = notify\ninterval = 200ms\ncpu-window = 100ms\n"
            try text.write(toFile: config, atomically: true, encoding: .utf8)
            let process = try RunningProcess(
                executable: Products.directory + "/" + daemon, arguments: ["--config", config],
                environment: ["NOTIFY_SOCKET": socket.path, "WATCHDOG_USEC": "1000000"])
            defer { process.signal(SIGKILL) }
            let started = socket.receive(for: 2.2)
            process.signal(SIGHUP)
            let reloaded = socket.receive(for: 1)
            process.signal(SIGTERM)
            let stopped = socket.receive(for: 1.5)
            await process.waitForExit()

            let first = try #require(started.first?.1, "\(daemon) sent nothing: \(process.output)")
            #expect(first.contains("READY=1") && first.contains("STATUS="), "\(daemon): \(first)")
            let pings = started.filter { $0.1 == "WATCHDOG=1" }.map(\.0)
            // 2.2 s at a 0.5 s period: four pings, give or take one.
            #expect((3...5).contains(pings.count), "\(daemon): \(pings.count) watchdog pings in 2.2 s")
            let gaps = zip(pings.dropFirst(), pings).map { $0.timeIntervalSince($1) }
            #expect(gaps.allSatisfy { $0 > 0.3 && $0 < 0.8 }, "\(daemon): ping gaps \(gaps)")
            let reloadTexts = reloaded.map(\.1)
            let reloading = try #require(
                reloadTexts.firstIndex { $0.contains("RELOADING=1") }, "\(daemon): \(reloadTexts)")
            #expect(reloadTexts[reloading].contains("MONOTONIC_USEC="))
            #expect(reloadTexts[(reloading + 1)...].contains { $0.contains("READY=1") }, "\(daemon): \(reloadTexts)")
            #expect(stopped.contains { $0.1.contains("STOPPING=1") }, "\(daemon): \(stopped.map(\.1))")
            #expect(process.process.terminationStatus == 0, "\(daemon) exit status")
        }
    }

    /// A stopped monitord whose write-ahead log holds `count` samples of agent "replayed", all
    /// acknowledged; returns its configuration file and the settings it ran with.
    static func gatewayWithLog(of count: Int) async throws -> (configPath: String, settings: String, dir: String) {
        let dir = try makeTemporaryDirectory()
        let settings = "acknowledge = durable\nwal-directory = \(dir)/wal\nwal-fsync = 100ms\n"
        let gateway = try await GatewayProcess.start(extraConfiguration: settings, directory: dir)
        let peer = try HostilePeer(port: gateway.agentPort)
        try peer.send(line: HostileMessages.hello(agent: "\"replayed\""))
        var burst: [UInt8] = []
        for sequence in 1...count { burst += Array((HostileMessages.sample(seq: "\(sequence)") + "\n").utf8) }
        try peer.send(burst)
        let acked = await eventually(timeout: 120) {
            (try? gateway.metrics().value("monitord_samples_received_total", agent: "replayed")) == Double(count)
        }
        #expect(acked, "\(gateway.process.output)")
        peer.close()
        await gateway.stop()
        return (gateway.configPath, settings, dir)
    }

    @Test("a long write-ahead log replay extends systemd's start timeout and says so, before READY")
    func replayExtendsStartTimeout() async throws {
        // 20,000 samples: more than two progress steps of the replay.
        let gateway = try await Self.gatewayWithLog(of: 20_000)
        let socket = try NotifySocket()
        let process = try RunningProcess(
            executable: Products.monitord, arguments: ["--config", gateway.configPath],
            environment: ["NOTIFY_SOCKET": socket.path])
        defer { process.signal(SIGKILL) }
        var messages: [String] = []
        _ = await eventually(timeout: 60) {
            messages += socket.receive(for: 0.2).map(\.1)
            return messages.contains { $0.contains("READY=1") }
        }
        let ready = try #require(messages.firstIndex { $0.contains("READY=1") }, "\(messages) \(process.output)")
        let progress = messages[..<ready].filter { $0.hasPrefix("EXTEND_TIMEOUT_USEC=30000000\n") }
        #expect(progress.count == 2, "\(messages)")
        #expect(progress.last?.hasSuffix("STATUS=replaying the write-ahead log: 16384 samples") == true)
    }

    @Test("a SIGTERM while a long write-ahead log replays ends the start at once, exit 0; the next start loses nothing")
    func stopDuringReplay() async throws {
        // Audit 8, finding 04: the stop was held until the whole log had been replayed (8.4 s for
        // 1.27 M records), keeping `systemctl stop` or a shutdown waiting.
        let count = 40_000
        let gateway = try await Self.gatewayWithLog(of: count)
        let socket = try NotifySocket()
        let process = try RunningProcess(
            executable: Products.monitord, arguments: ["--config", gateway.configPath],
            environment: ["NOTIFY_SOCKET": socket.path])
        defer { process.signal(SIGKILL) }
        var messages: [String] = []
        let replaying = await eventually(timeout: 60) {
            messages += socket.receive(for: 0.05).map(\.1)
            return messages.contains { $0.contains("STATUS=replaying the write-ahead log") }
        }
        #expect(replaying, "\(messages) \(process.output)")
        process.signal(SIGTERM)
        let status = await process.waitForExit(timeout: 3)
        messages += socket.receive(for: 0.1).map(\.1)
        #expect(status == 0, "exits at once, with 0:\n\(process.output)")
        #expect(!messages.contains { $0.contains("READY=1") }, "the start was not finished first: \(messages)")
        #expect(process.output.contains("stopped while replaying the write-ahead log"), "\(process.output)")

        let restarted = try await GatewayProcess.start(
            extraConfiguration: gateway.settings, directory: gateway.dir)
        let received = try restarted.metrics().value("monitord_samples_received_total", agent: "replayed")
        await restarted.stop()
        #expect(received == Double(count), "every acknowledged sample is restored after the interrupted replay")
    }

    @Test("no watchdog pings when WATCHDOG_PID names another process")
    func watchdogPID() async throws {
        let socket = try NotifySocket()
        let dir = try makeTemporaryDirectory()
        try "[monitord]\nlisten = 127.0.0.1:0\nmetrics-listen = 127.0.0.1:0\n".write(
            toFile: dir + "/m.conf", atomically: true, encoding: .utf8)
        let process = try RunningProcess(
            executable: Products.monitord, arguments: ["--config", dir + "/m.conf"],
            environment: ["NOTIFY_SOCKET": socket.path, "WATCHDOG_USEC": "500000", "WATCHDOG_PID": "1"])
        defer { process.signal(SIGKILL) }
        let messages = socket.receive(for: 1.5).map(\.1)
        #expect(messages.contains { $0.contains("READY=1") }, "\(messages)")
        #expect(!messages.contains("WATCHDOG=1"), "\(messages)")
    }
}
