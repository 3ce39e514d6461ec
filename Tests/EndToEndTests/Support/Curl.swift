import Foundation
import TestSupport

/// curl, the client operators test their endpoints with, run to completion.
struct Curl {
    var exitCode: Int32
    /// The HTTP status (`%{http_code}`; 0 when no response came).
    var status: Int
    var body: String
    var headers: String

    static func run(_ arguments: [String], timeout: Double = 30) async throws -> Curl {
        let dir = try makeTemporaryDirectory()
        let process = try RunningProcess(
            executable: "/usr/bin/curl",
            arguments: ["-sS", "--max-time", "20", "-D", dir + "/headers", "-o", dir + "/body", "-w", "%{http_code}"]
                + arguments,
            name: "curl")
        guard let code = await process.waitForExit(timeout: timeout) else { throw E2EError("curl did not finish") }
        let output = process.output
        return Curl(
            exitCode: code,
            status: Int(output.suffix(3)) ?? 0,
            body: (try? String(contentsOfFile: dir + "/body", encoding: .utf8)) ?? "",
            headers: (try? String(contentsOfFile: dir + "/headers", encoding: .utf8)) ?? "")
    }
}
