import Foundation
import Testing

/// A real process of one of the package's binaries (or any program), with its output kept in
/// files so that a chatty process can never block on a full pipe.
final class RunningProcess: @unchecked Sendable {
    let process = Process()
    let outputPath: String
    let name: String

    init(executable: String, arguments: [String], environment: [String: String] = [:], name: String? = nil) throws {
        self.name = name ?? (executable as NSString).lastPathComponent
        outputPath = NSTemporaryDirectory() + "e2e-\(self.name)-\(UUID().uuidString).log"
        _ = FileManager.default.createFile(atPath: outputPath, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        // Plain stderr logs: never the journal, never a notify socket from the test runner's environment.
        env.removeValue(forKey: "JOURNAL_STREAM")
        env.removeValue(forKey: "NOTIFY_SOCKET")
        for (key, value) in environment { env[key] = value }
        process.environment = env
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var output: String {
        (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
    }

    var pid: Int32 { process.processIdentifier }

    func signal(_ signal: Int32) {
        kill(process.processIdentifier, signal)
    }

    /// Waits for the process to end and returns its exit status, or nil on timeout.
    @discardableResult
    func waitForExit(timeout: Double = 10) async -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning, Date() < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        return process.isRunning ? nil : process.terminationStatus
    }

    func stop() async {
        guard process.isRunning else { return }
        signal(SIGTERM)
        if await waitForExit(timeout: 10) == nil {
            signal(SIGKILL)
            await waitForExit(timeout: 5)
        }
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

/// Polls `condition` until it holds or `timeout` passes; returns whether it held.
func eventually(
    timeout: Double = 15, every interval: Duration = .milliseconds(100), _ condition: () async throws -> Bool
) async -> Bool {
    let deadline = Date().addingTimeInterval(timeout)
    repeat {
        if (try? await condition()) == true { return true }
        try? await Task.sleep(for: interval)
    } while Date() < deadline
    return false
}

/// Paths of the built products: they sit beside the test bundle in SwiftPM's build directory.
enum Products {
    static var directory: String {
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        while url.path != "/" {
            let candidate = url.deletingLastPathComponent()
            if FileManager.default.isExecutableFile(atPath: candidate.appendingPathComponent("monitord").path) {
                return candidate.path
            }
            url = candidate
        }
        return packageRoot + "/.build/debug"
    }

    static var monitord: String { directory + "/monitord" }
    static var agent: String { directory + "/monitor-agent" }

    static var packageRoot: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().path
    }

    static var reportAgent: String { packageRoot + "/Tests/report/agent.py" }
}
