import Foundation
import TestSupport

/// Debian's VictoriaMetrics single-node on a free loopback port, its data in a temporary directory:
/// a second remote-write receiver, and the one that keeps every copy of a sample. Without
/// `-dedup.minScrapeInterval` (0, said explicitly) it stores a timestamp sent twice twice, and
/// `/api/v1/export` returns raw samples, so a duplicate shows.
final class VictoriaMetricsServer: @unchecked Sendable {
    let port: Int
    let directory: String
    private(set) var process: RunningProcess

    init() async throws {
        directory = try makeTemporaryDirectory()
        port = try freeLoopbackPort()
        process = try Self.launch(directory: directory, port: port)
        try await waitUntilHealthy()
    }

    private static func launch(directory: String, port: Int) throws -> RunningProcess {
        try RunningProcess(
            executable: "/usr/bin/victoria-metrics",
            arguments: [
                "-storageDataPath=\(directory)/data", "-httpListenAddr=127.0.0.1:\(port)", "-retentionPeriod=1y",
                "-search.latencyOffset=0s", "-dedup.minScrapeInterval=0s",
            ], name: "victoria-metrics")
    }

    private func waitUntilHealthy() async throws {
        let (port, process) = (port, process)
        let healthy = await eventually(timeout: 30, every: .milliseconds(100)) {
            try HTTPClient.get(port: port, path: "/health").status == 200
        }
        guard healthy else { throw E2EError("VictoriaMetrics did not start:\n\(process.output.suffix(2000))") }
    }

    var writeURL: String { "http://127.0.0.1:\(port)/api/v1/write" }

    /// Stops it cleanly (SIGTERM: it writes what it buffers in memory) and waits for the exit.
    func stopCleanly() async {
        process.signal(SIGTERM)
        if await process.waitForExit(timeout: 30) == nil {
            process.signal(SIGKILL)
            await process.waitForExit(timeout: 5)
        }
    }

    /// Starts it again on the same port and data directory, once stopped.
    func restart() async throws {
        process = try Self.launch(directory: directory, port: port)
        try await waitUntilHealthy()
    }

    /// The timestamps (ms) of every stored sample of the series matching `selector`, every copy,
    /// oldest first: what has been written so far is flushed to searchable parts first.
    func timestamps(_ selector: String) throws -> [Int64] {
        _ = try HTTPClient.get(port: port, path: "/internal/force_flush")
        let match = selector.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        let response = try HTTPClient.get(port: port, path: "/api/v1/export?match%5B%5D=\(match)")
        guard response.status == 200 else {
            throw E2EError("export \(selector): \(response.status) \(response.body.prefix(500))")
        }
        let body =
            response.headers["transfer-encoding"] == "chunked"
            ? RemoteWriteTests.Receiver.dechunked(response.body) : response.body
        var times: [Int64] = []
        // One JSON object per line; a series may come in several lines (one per stored part).
        for line in body.split(separator: "\n") where !line.isEmpty {
            guard let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let stamps = object["timestamps"] as? [NSNumber]
            else { throw E2EError("export \(selector): cannot read \(line.prefix(300))") }
            times += stamps.map(\.int64Value)
        }
        return times.sorted()
    }

    func stop() { process.signal(SIGKILL) }
}

/// Debian's vmagent on a fixed loopback port, its persistent queue in `queueDirectory`, forwarding
/// to `remoteWriteURL`: the peer monitord is compared with as a middle tier.
final class VMAgentProcess: @unchecked Sendable {
    let process: RunningProcess
    let port: Int

    static func start(port: Int, remoteWriteURL: String, queueDirectory: String) async throws -> VMAgentProcess {
        let process = try RunningProcess(
            executable: "/usr/bin/vmagent",
            arguments: [
                "-httpListenAddr=127.0.0.1:\(port)", "-remoteWrite.url=\(remoteWriteURL)",
                "-remoteWrite.tmpDataPath=\(queueDirectory)", "-remoteWrite.flushInterval=250ms",
            ], name: "vmagent")
        let healthy = await eventually(timeout: 30, every: .milliseconds(100)) {
            try HTTPClient.get(port: port, path: "/health").status == 200
        }
        guard healthy else {
            await process.stop()
            throw E2EError("vmagent did not start:\n\(process.output.suffix(2000))")
        }
        return VMAgentProcess(process: process, port: port)
    }

    private init(process: RunningProcess, port: Int) {
        self.process = process
        self.port = port
    }
}

extension HTTPClient {
    /// A POST of `body` with its length; the connection closes after the answer.
    static func post(port: Int, path: String, body: String) throws -> Response {
        try exchange(
            port: port,
            request: "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
                + "Content-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)")
    }
}
