import Foundation

/// Debian's `promtool check metrics`, the exposition's referee in the unit and end-to-end tests.
public enum Promtool {
    public static let path = "/usr/bin/promtool"

    public static var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: path) }

    /// The one complaint SPEC accepts: the report's family name keeps its unit for its dashboards.
    public static let acceptedComplaint = #"process_ram_gigabytes use base unit "bytes" instead of "gigabytes""#

    /// Runs `promtool check metrics` on a page; its exit status and everything it printed.
    public static func check(_ page: [UInt8]) throws -> (status: Int32, output: String) {
        try run(["check", "metrics"], input: page)
    }

    /// Runs `promtool check rules` on the text of a rules file (written to a temporary file, removed
    /// after); its exit status and everything it printed.
    public static func checkRules(_ rules: String) throws -> (status: Int32, output: String) {
        let file = NSTemporaryDirectory() + "promtool-rules-\(UUID().uuidString).yml"
        try rules.write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        return try run(["check", "rules", file], input: [])
    }

    private static func run(_ arguments: [String], input bytes: [UInt8]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        try input.fileHandleForWriting.write(contentsOf: Data(bytes))
        try input.fileHandleForWriting.close()
        let printed = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: printed, as: UTF8.self))
    }

    /// The lines promtool complained with about `page`, trimmed; empty for a clean page.
    public static func complaints(_ page: String) throws -> [String] {
        try check(Array(page.utf8)).output.split(separator: "\n").map {
            $0.trimmingCharacters(in: .whitespaces)
        }.filter { !$0.isEmpty }
    }
}
