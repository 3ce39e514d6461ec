import Foundation
import TestSupport
import Testing

/// Two gateways on one `wal-directory` would each rename a new segment over the other's, and what
/// one of them acknowledged would be gone after a restart: the second must refuse to start, the
/// first go on, and a killed holder must leave nothing that keeps the next start out.
@Suite("WAL directory lock: one gateway per write-ahead log", .serialized)
struct WALDirectoryLockTests {
    static func settings(_ directory: String) -> String {
        "agent-timeout = 60s\nforget-after = 1h\nacknowledge = durable\nwal-directory = \(directory)/wal\n"
    }

    /// Runs monitord on `settings` where it is expected to refuse to start; returns its exit
    /// status (nil: still running after 10 s) and its output.
    static func refusedStart(_ settings: String, in directory: String) async throws -> (Int32?, String) {
        let configPath = directory + "/second.conf"
        try "[monitord]\nlisten = 127.0.0.1:0\nmetrics-listen = 127.0.0.1:0\n\(settings)"
            .write(toFile: configPath, atomically: true, encoding: .utf8)
        let second = try RunningProcess(executable: Products.monitord, arguments: ["--config", configPath])
        let status = await second.waitForExit(timeout: 10)
        await second.stop()
        return (status, second.output)
    }

    @Test("a second monitord on the same wal-directory refuses to start, naming the first's pid; the first goes on")
    func secondGatewayRefuses() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try await GatewayProcess.start(extraConfiguration: Self.settings(directory), directory: directory)
        let agent = CountingAgent(name: "lock-a")
        agent.step(port: first.agentPort, burst: 20)
        #expect(agent.acknowledged == 20)

        let (status, output) = try await Self.refusedStart(Self.settings(directory), in: directory)
        #expect(status == 1, "the second monitord exits with the cannot-run status:\n\(output)")
        #expect(
            output.contains("wal-directory \(directory)/wal: in use by another monitord (pid \(first.process.pid))"),
            "\(output)")
        #expect(output.contains("cannot run"), "\(output)")
        #expect(!output.contains("listening"), "the second never listens:\n\(output)")

        // The first still acknowledges, and after a kill and a restart holds every sample it acknowledged.
        agent.step(port: first.agentPort, burst: 20)
        #expect(agent.acknowledged == 40 && agent.sent == 40)
        first.process.signal(SIGKILL)
        #expect(await first.process.waitForExit(timeout: 10) != nil)
        agent.drop()
        let restarted = try await GatewayProcess.start(
            extraConfiguration: Self.settings(directory), directory: directory)
        let received = try restarted.metrics().value("monitord_samples_received_total", agent: "lock-a")
        await restarted.stop()
        #expect(received == 40)
    }

    @Test("the lock file deleted or replaced while the first runs: a second monitord still refuses")
    func lockFileRemovedWhileRunning() async throws {
        // Audit 10, finding F2: the lock was the file's, so deleting it (a cleanup script, a
        // careless rm) let a second gateway lock a new file of the same name and start.
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try await GatewayProcess.start(extraConfiguration: Self.settings(directory), directory: directory)
        let agent = CountingAgent(name: "lock-c")
        agent.step(port: first.agentPort, burst: 10)
        #expect(agent.acknowledged == 10)

        try FileManager.default.removeItem(atPath: directory + "/wal/lock")
        let (status, output) = try await Self.refusedStart(Self.settings(directory), in: directory)
        #expect(status == 1, "the second monitord refuses after the lock file was deleted:\n\(output)")
        #expect(output.contains("wal-directory \(directory)/wal: in use by another monitord"), "\(output)")

        #expect(FileManager.default.createFile(atPath: directory + "/wal/lock", contents: Data("1\n".utf8)))
        let (again, replaced) = try await Self.refusedStart(Self.settings(directory), in: directory)
        #expect(again == 1, "the second monitord refuses after the lock file was replaced:\n\(replaced)")

        agent.step(port: first.agentPort, burst: 10)
        #expect(agent.acknowledged == 20 && agent.lost == 0, "the first goes on")
        await first.stop()
    }

    @Test("the directory renamed while the first runs: it stops acknowledging and writes nothing at the old path")
    func directoryRenamedWhileRunning() async throws {
        // Audit 11, finding 01: the lock held the renamed directory, but segments and the
        // forwarding position were created by path: once a second gateway had made a new
        // directory there, the first wrote into it, and a restart lost thousands of samples the
        // first had acknowledged.
        let receiver = try await RemoteWriteTests.Receiver()
        defer { receiver.stop() }
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let settings = LogForwardingCrashTests.configuration(receiver: receiver, directory: directory)
        let first = try await GatewayProcess.start(extraConfiguration: settings, directory: directory)
        let agent = CountingAgent(name: "lock-d")
        agent.step(port: first.agentPort, burst: 10)
        #expect(agent.acknowledged == 10)

        try FileManager.default.moveItem(atPath: directory + "/wal", toPath: directory + "/wal.moved")
        try FileManager.default.createDirectory(
            atPath: directory + "/wal", withIntermediateDirectories: false, attributes: [.posixPermissions: 0o750])
        for _ in 0..<5 { agent.step(port: first.agentPort, burst: 10) }
        #expect(agent.acknowledged == 10, "acknowledged \(agent.acknowledged) after the directory was moved")
        let planted = try FileManager.default.contentsOfDirectory(atPath: directory + "/wal")
        #expect(planted.isEmpty, "the first gateway wrote into the new directory at its path: \(planted)")
        #expect(
            first.process.output.contains("is no longer the directory this monitord locked"), "\(first.process.output)")
        await first.stop()
    }

    @Test("after a kill -9 of the holder, a new monitord on the directory starts: no stale lock")
    func killedHolderLeavesNoStaleLock() async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let first = try await GatewayProcess.start(extraConfiguration: Self.settings(directory), directory: directory)
        let agent = CountingAgent(name: "lock-b")
        agent.step(port: first.agentPort, burst: 10)
        first.process.signal(SIGKILL)
        #expect(await first.process.waitForExit(timeout: 10) != nil)
        agent.drop()
        #expect(FileManager.default.fileExists(atPath: directory + "/wal/lock"))

        let second = try await GatewayProcess.start(extraConfiguration: Self.settings(directory), directory: directory)
        agent.step(port: second.agentPort, burst: 10)
        #expect(agent.acknowledged == 20 && agent.lost == 0)
        await second.stop()
    }

    enum Planted: String, CaseIterable, CustomTestStringConvertible {
        case fifo, directory, symlink
        var testDescription: String { rawValue }
    }

    @Test(
        "a lock file that is a FIFO, a directory or a symbolic link: a clear error, no hang",
        arguments: Planted.allCases)
    func lockFileNotAFile(_ planted: Planted) async throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try FileManager.default.createDirectory(
            atPath: directory + "/wal", withIntermediateDirectories: false, attributes: [.posixPermissions: 0o750])
        let lock = directory + "/wal/lock"
        switch planted {
        case .fifo: #expect(mkfifo(lock, 0o600) == 0)
        case .directory: try FileManager.default.createDirectory(atPath: lock, withIntermediateDirectories: false)
        case .symlink:
            #expect(FileManager.default.createFile(atPath: directory + "/elsewhere", contents: nil))
            try FileManager.default.createSymbolicLink(atPath: lock, withDestinationPath: directory + "/elsewhere")
        }
        let (status, output) = try await Self.refusedStart(Self.settings(directory), in: directory)
        #expect(status == 1, "monitord refuses promptly:\n\(output)")
        #expect(output.contains(lock), "the error names the lock file:\n\(output)")
        let reason =
            switch planted {
            case .fifo: "not a regular file"
            case .directory: "Is a directory"
            case .symlink: "is a symbolic link"
            }
        #expect(output.contains(reason), "\(output)")
    }
}
