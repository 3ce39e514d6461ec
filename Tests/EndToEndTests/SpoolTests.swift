import Foundation
import TestSupport
import Testing

/// Fault test (b) of issue 4: the agent killed with SIGKILL while the gateway is away, then both
/// restarted, with the disk spool on: every sequence number the agent took reaches a gateway.
@Suite("monitor-agent's disk spool")
struct SpoolTests {
    /// "spool /dir: resuming session S after sequence N, acknowledged up to W, K to deliver"
    struct SpoolLine {
        var resumed: Bool
        var session: String
        var highest: Int
        var acknowledged: Int
        var toDeliver: Int

        init?(_ output: String) {
            guard
                let match = output.firstMatch(
                    of:
                        /spool [^ ]+: (resuming|new) session ([0-9a-f]+) after sequence (\d+), acknowledged up to (\d+), (\d+) to deliver/
                ), let highest = Int(match.3), let acknowledged = Int(match.4), let toDeliver = Int(match.5)
            else { return nil }
            resumed = match.1 == "resuming"
            session = String(match.2)
            self.highest = highest
            self.acknowledged = acknowledged
            self.toDeliver = toDeliver
        }
    }

    /// Bytes in the spool's segment files.
    static func spooledBytes(_ directory: String) -> Int {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        return names.filter { $0.hasPrefix("seg-") }.reduce(0) { total, name in
            let attributes = try? FileManager.default.attributesOfItem(atPath: directory + "/" + name)
            return total + ((attributes?[.size] as? Int) ?? 0)
        }
    }

    static func lastSequence(_ output: String) -> Int? {
        output.firstMatch(of: /stopping: every sample delivered; .*\(last sequence (\d+)\)/).flatMap { Int($0.1) }
    }

    @Test("gateway killed, agent sampling, agent killed, both restarted: zero samples lost")
    func agentKilledWithSpool() async throws {
        let name = "e2e-spool"
        let spool = try makeTemporaryDirectory() + "/spool"
        let configuration = "spool-directory = \(spool)\n"
        let first = try await GatewayProcess.start()
        let port = first.agentPort
        let agent = try AgentProcess.start(name: name, gatewayPort: port, extraConfiguration: configuration)
        defer { agent.process.signal(SIGKILL) }
        var deliveredBeforeOutage = 0.0
        #expect(
            await eventually {
                deliveredBeforeOutage = try first.metrics().value("monitord_samples_received_total", agent: name) ?? 0
                return deliveredBeforeOutage >= 5
            }, "agent: \(agent.process.output)")
        let started = try #require(SpoolLine(agent.process.output), "\(agent.process.output)")
        #expect(!started.resumed && started.highest == 0)

        // The gateway dies; the agent samples into its spool (3 s and at least 10 records of 57
        // bytes, whatever the machine's load); then the agent dies too.
        first.process.signal(SIGKILL)
        await first.process.waitForExit()
        let spooledAtOutage = Self.spooledBytes(spool)
        try await Task.sleep(for: .seconds(3))
        #expect(
            await eventually(timeout: 30) { Self.spooledBytes(spool) >= spooledAtOutage + 10 * 57 },
            "agent: \(agent.process.output)")
        agent.process.signal(SIGKILL)
        #expect(await agent.process.waitForExit() != nil)
        // A write cut short by the kill would leave a partial record: simulate one.
        let newest = try #require(
            try FileManager.default.contentsOfDirectory(atPath: spool).filter { $0.hasPrefix("seg-") }.max())
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: spool + "/" + newest))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data([49, 0, 0, 0, 0xDE, 0xAD]))
        try handle.close()

        // The agent restarts first, resumes the session and keeps sampling; then the gateway returns.
        let restarted = try AgentProcess.start(name: name, gatewayPort: port, extraConfiguration: configuration)
        defer { restarted.process.signal(SIGKILL) }
        #expect(await eventually { SpoolLine(restarted.process.output) != nil }, "\(restarted.process.output)")
        let resumed = try #require(SpoolLine(restarted.process.output))
        #expect(resumed.resumed && resumed.session == started.session)
        // Samples taken and spooled during the outage, never acknowledged.
        #expect(resumed.highest - resumed.acknowledged >= 10, "\(restarted.process.output)")
        #expect(resumed.toDeliver == resumed.highest - resumed.acknowledged)
        #expect(resumed.acknowledged >= Int(deliveredBeforeOutage))
        let tornReports = restarted.process.output.components(separatedBy: "torn record at offset").count - 1
        #expect(tornReports == 1, "\(restarted.process.output)")
        try await Task.sleep(for: .seconds(1))

        let second = try await GatewayProcess.start(agentPort: port)
        defer { Task { await second.stop() } }
        #expect(
            await eventually(timeout: 30) {
                try second.metrics().value("monitord_samples_received_total", agent: name) ?? 0
                    >= Double(resumed.highest - resumed.acknowledged + 5)
            }, "agent: \(restarted.process.output)")
        await restarted.stop()
        let last = try #require(Self.lastSequence(restarted.process.output), "\(restarted.process.output)")
        let received = try #require(try second.metrics().value("monitord_samples_received_total", agent: name))
        // 1...acknowledged are held by the first gateway (it acknowledged them); the rest must all be
        // at the second one, each counted once.
        let lost = last - resumed.acknowledged - Int(received)
        print(
            "spool fault test (b): sequences 1...\(last) taken; 1...\(resumed.acknowledged) acknowledged by the first gateway; "
                + "\(Int(received)) received by the second (\(resumed.highest - resumed.acknowledged) of them from before the kill); lost: \(lost)"
        )
        #expect(lost == 0, "agent: \(restarted.process.output)")
        await second.stop()
    }

    @Test(
        "a watermark planted just below 2^63: numbers never pass it, a new session follows, nothing deduplicated away")
    func numberingCeiling() async throws {
        let name = "e2e-ceiling"
        let spool = try makeTemporaryDirectory() + "/spool"
        let configuration = "spool-directory = \(spool)\n"
        let gateway = try await GatewayProcess.start()
        defer { Task { await gateway.stop() } }
        // A first run makes the spool and its session; its watermark is then rewritten to 2^63 - 2.
        let first = try AgentProcess.start(
            name: name, gatewayPort: gateway.agentPort, extraConfiguration: configuration)
        defer { first.process.signal(SIGKILL) }
        #expect(
            await eventually { try gateway.metrics().value("monitord_samples_received_total", agent: name) ?? 0 >= 2 })
        await first.stop()
        let session = try #require(SpoolLine(first.process.output)).session
        try "\(session) 9223372036854775806\n".write(toFile: spool + "/acked", atomically: true, encoding: .utf8)
        let before = try #require(try gateway.metrics().value("monitord_samples_received_total", agent: name))

        var taken = 0
        var sessions: [String] = []
        for run in 0..<3 {
            let agent = try AgentProcess.start(
                name: name, gatewayPort: gateway.agentPort, extraConfiguration: configuration)
            defer { agent.process.signal(SIGKILL) }
            #expect(await eventually { SpoolLine(agent.process.output) != nil }, "\(agent.process.output)")
            try await Task.sleep(for: .seconds(2))
            await agent.stop()
            let output = agent.process.output
            let account = try #require(
                output.firstMatch(of: /stopping: every sample delivered; (\d+) samples taken/), "run \(run): \(output)")
            taken += Int(account.1) ?? 0
            sessions.append(try #require(SpoolLine(output)).session)
            #expect(!output.contains("above 2^63"), "run \(run): \(output)")
            if run == 0 {
                #expect(
                    output.contains("new session") && output.contains("2^63"),
                    "run 0 said nothing of the ceiling: \(output)")
                let last = try #require(SpoolTests.lastSequence(output), "\(output)")
                #expect(last < 1000, "run 0 still numbers near the ceiling: \(last)")
            }
        }
        #expect(sessions[0] == session && sessions[1] != session && sessions[2] == sessions[1], "\(sessions)")
        // Every sample taken was received as new: none was taken for a duplicate.
        var received = 0.0
        #expect(
            await eventually {
                received = try gateway.metrics().value("monitord_samples_received_total", agent: name) ?? 0
                return received == before + Double(taken)
            }, "taken \(taken), received \(received - before)")
    }

    /// Runs a program to its end; returns its exit status.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String]) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }

    @Test("a spool whose filesystem is full: the agent still starts, and what the spool holds is delivered")
    func fullSpoolFilesystem() async throws {
        guard getuid() == 0 else {
            print("SKIP full spool filesystem test: needs root to mount a tmpfs")
            return
        }
        let name = "e2e-full-spool"
        let spool = try makeTemporaryDirectory() + "/spool"
        try FileManager.default.createDirectory(atPath: spool, withIntermediateDirectories: false)
        // 16 KiB: a few hundred records, filled by the agent itself in a few seconds.
        try #require(try Self.run("/bin/mount", ["-t", "tmpfs", "-o", "size=16k,mode=700", "tmpfs", spool]) == 0)
        defer { _ = try? Self.run("/bin/umount", ["-l", spool]) }
        let configuration = "spool-directory = \(spool)\nspool-max-size = 64KiB\n"

        // No gateway: the agent fills the filesystem with its spool, coping in memory.
        let gone = try await GatewayProcess.start()
        let port = gone.agentPort
        await gone.stop()
        let filling = try AgentProcess.start(
            name: name, gatewayPort: port, interval: "100ms", cpuWindow: "50ms", extraConfiguration: configuration)
        defer { filling.process.signal(SIGKILL) }
        #expect(
            await eventually(timeout: 60) { filling.process.output.contains("No space left on device") },
            "agent: \(filling.process.output)")
        await filling.stop()

        // Restarted on the full filesystem, with a gateway: it must run and deliver the spool.
        let gateway = try await GatewayProcess.start(agentPort: port)
        defer { Task { await gateway.stop() } }
        let restarted = try AgentProcess.start(name: name, gatewayPort: port, extraConfiguration: configuration)
        defer { restarted.process.signal(SIGKILL) }
        #expect(await eventually { SpoolLine(restarted.process.output) != nil }, "\(restarted.process.output)")
        let resumed = try #require(SpoolLine(restarted.process.output), "\(restarted.process.output)")
        #expect(resumed.resumed && resumed.toDeliver > 50, "\(restarted.process.output)")
        #expect(
            await eventually(timeout: 30) {
                try gateway.metrics().value("monitord_samples_received_total", agent: name) ?? 0
                    >= Double(resumed.toDeliver + 5)
            }, "agent: \(restarted.process.output)")
        #expect(restarted.process.process.isRunning, "\(restarted.process.output)")
        // Delivering the spool freed its segments: the spool writes again, unasked.
        #expect(
            await eventually(timeout: 30) { restarted.process.output.contains("spool: writing again") },
            "\(restarted.process.output)")
        // The failure is said once, not per sample.
        let failures = restarted.process.output.components(separatedBy: "kept in memory only").count - 1
        #expect(failures <= 1, "\(restarted.process.output)")
        await restarted.stop()
    }
}
