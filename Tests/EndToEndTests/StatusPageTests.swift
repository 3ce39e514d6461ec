import Foundation
import TestSupport
import Testing

extension AgentsDocument {
    static func fetch(_ gateway: GatewayProcess) throws -> AgentsDocument {
        let response = try HTTPClient.get(port: gateway.metricsPort, path: "/api/v1/agents")
        guard response.status == 200 else { throw E2EError("GET /api/v1/agents: \(response.status)") }
        return try decode(response.body)
    }
}

/// Debian's chromium, if installed (scripts/install-deps.sh installs it); `CHROMIUM` overrides the path.
private enum Chromium {
    static let path: String? = {
        let candidates = [ProcessInfo.processInfo.environment["CHROMIUM"], "/usr/bin/chromium"].compactMap { $0 }
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }()

    /// Runs headless chromium on `url` with `arguments` and returns its standard output.
    ///
    /// The virtual time budget lets the page's script run its first refresh (virtual time stands still while a
    /// fetch is pending) before the DOM is dumped or the screenshot taken.
    static func run(_ arguments: [String], url: String) async throws -> String {
        guard let path else { throw E2EError("chromium is not installed") }
        let profile = try makeTemporaryDirectory()
        let output = NSTemporaryDirectory() + "chromium-\(UUID().uuidString).out"
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments =
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--user-data-dir=\(profile)",
                "--virtual-time-budget=4000",
            ] + arguments + [url]
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while process.isRunning, Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        if process.isRunning {
            process.terminate()
            throw E2EError("chromium did not finish within 60 s")
        }
        guard process.terminationStatus == 0 else { throw E2EError("chromium exited \(process.terminationStatus)") }
        return try String(contentsOfFile: output, encoding: .utf8)
    }
}

/// Three agents: `e2e-web-01` up (monitor-agent), `agent_1` up (the report's Python agent) and `e2e-db-01` down
/// (a monitor-agent stopped). "Late" is left to the unit tests: the gateway closes a silent agent's connection at
/// the same deadline that makes it late, so a real agent is late for an instant at most.
private func withAgents(_ body: (GatewayProcess) async throws -> Void) async throws {
    try await withGateway(extraConfiguration: "agent-timeout = 3s\nforget-after = 60s\n") { gateway in
        let web = try AgentProcess.start(name: "e2e-web-01", gatewayPort: gateway.agentPort)
        defer { web.process.signal(SIGKILL) }
        let report = try startReportAgent(port: gateway.agentPort)
        defer { report.signal(SIGKILL) }
        let db = try AgentProcess.start(name: "e2e-db-01", gatewayPort: gateway.agentPort)
        defer { db.process.signal(SIGKILL) }
        let allSending = await eventually {
            let list = try AgentsDocument.fetch(gateway)
            return list.agents.count == 3 && list.agents.allSatisfy { $0.samplesReceived > 0 }
        }
        #expect(allSending, "gateway: \(gateway.process.output)")
        await db.stop()
        let settled = await eventually {
            let list = try AgentsDocument.fetch(gateway)
            return list.state(of: "e2e-db-01") == "down" && list.state(of: "e2e-web-01") == "up"
                && list.state(of: "agent_1") == "up"
        }
        #expect(
            settled, "agents: \((try? HTTPClient.get(port: gateway.metricsPort, path: "/api/v1/agents").body) ?? "")")
        try await body(gateway)
    }
}

@Suite("Status page and /api/v1/agents")
struct StatusPageTests {
    @Test("the JSON and the HTML list every agent with its state, protocol and transport")
    func jsonAndHTML() async throws {
        try await withAgents { gateway in
            let list = try AgentsDocument.fetch(gateway)
            #expect(list.counts == .init(total: 3, up: 2, late: 0, down: 1))
            #expect(list.agents.map(\.name) == ["agent_1", "e2e-db-01", "e2e-web-01"])
            #expect(list.agents.first { $0.name == "agent_1" }?.dialect == "legacy")
            #expect(list.agents.first { $0.name == "e2e-web-01" }?.dialect == "native")
            #expect(list.agents.allSatisfy { $0.transport == "tcp" && $0.remoteAddress.hasPrefix("127.0.0.1:") })
            #expect(abs(list.now - Date().timeIntervalSince1970) < 5)

            let page = try HTTPClient.get(port: gateway.metricsPort, path: "/")
            #expect(page.status == 200)
            #expect(page.headers["content-type"] == "text/html; charset=utf-8")
            #expect(page.headers["content-security-policy"]?.contains("default-src 'none'") == true)
            #expect(page.headers["cache-control"] == "no-store")
            for (name, state) in [("agent_1", "up"), ("e2e-db-01", "down"), ("e2e-web-01", "up")] {
                #expect(page.body.contains("<tr data-agent=\"\(name)\" class=\"state-\(state)\">"), "\(name)")
            }
            #expect(page.body.contains(#"<b data-count="total">3</b>"#))

            let wrongMethod = try HTTPClient.get(port: gateway.metricsPort, path: "/api/v1/agents", method: "POST")
            #expect(wrongMethod.status == 405 && wrongMethod.headers["allow"] == "GET, HEAD")
            #expect(try HTTPClient.get(port: gateway.metricsPort, path: "/api/v1/nothing").status == 404)
        }
    }

    @Test(
        "headless chromium renders a row per agent after the page's script has refreshed",
        .enabled(
            if: Chromium.path != nil,
            "chromium is not installed (apt-get install chromium, or run scripts/install-deps.sh); skipping")
    )
    func chromiumRendersRows() async throws {
        try await withAgents { gateway in
            let url = "http://127.0.0.1:\(gateway.metricsPort)/"
            let dom = try await Chromium.run(["--dump-dom"], url: url)
            // The script ran and its fetch of /api/v1/agents succeeded: it counts refreshes and rewrites the
            // status line, which the server-rendered page does neither.
            let refreshes = dom.firstMatch(of: /data-refreshes="(\d+)"/).flatMap { Int($0.1) } ?? 0
            #expect(refreshes >= 1, "DOM: \(dom)")
            #expect(dom.contains(", refreshed every 5 s."))
            #expect(dom.firstMatch(of: /<p id="refresh"[^>]*class="error"/) == nil, "a fetch failed: \(dom)")
            let rows = dom.matches(of: /<tr data-agent="([^"]+)" class="state-(\w+)">/).map { "\($0.1)=\($0.2)" }
            #expect(rows == ["agent_1=up", "e2e-db-01=down", "e2e-web-01=up"], "DOM: \(dom)")
            #expect(dom.contains(#"<b data-count="total">3</b>"#) && dom.contains(#"<b data-count="down">1</b>"#))
            #expect(dom.contains("<title>monitord: 3 agents</title>"))

            // Sorting, driven by the address as a shared link would: by state (down first, ties by name), and by
            // name descending. The rows are the same DOM nodes, moved by the script.
            for (fragment, order) in [
                ("#sort=state", ["e2e-db-01", "agent_1", "e2e-web-01"]),
                ("#sort=-name", ["e2e-web-01", "e2e-db-01", "agent_1"]),
            ] {
                let sorted = try await Chromium.run(["--dump-dom"], url: url + fragment)
                let names = sorted.matches(of: /<tr data-agent="([^"]+)"/).map { String($0.1) }
                #expect(names == order, "\(fragment)")
            }
            #expect(
                try await Chromium.run(["--dump-dom"], url: url + "#sort=-name").contains(#"aria-sort="descending""#))

            // One screenshot, kept in docs/ when STATUS_PAGE_SCREENSHOT names a path.
            let screenshot = try makeTemporaryDirectory() + "/status-page.png"
            _ = try await Chromium.run(
                ["--screenshot=\(screenshot)", "--window-size=1280,400", "--hide-scrollbars"], url: url)
            let png = try Data(contentsOf: URL(fileURLWithPath: screenshot))
            #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
            // IHDR: the width, big-endian, at bytes 16..<20.
            let width = png.count >= 24 ? png[16..<20].reduce(0) { $0 << 8 | UInt32($1) } : 0
            #expect(width == 1280)
            if let keep = ProcessInfo.processInfo.environment["STATUS_PAGE_SCREENSHOT"] {
                try? FileManager.default.removeItem(atPath: keep)
                try FileManager.default.copyItem(atPath: screenshot, toPath: keep)
            }
        }
    }

    @Test(
        "agents named like Object.prototype's members get their rows in chromium (rows are kept in a Map)",
        .enabled(
            if: Chromium.path != nil,
            "chromium is not installed (apt-get install chromium, or run scripts/install-deps.sh); skipping")
    )
    func chromiumPrototypeNames() async throws {
        let names = ["__proto__", "constructor", "toString", "hasOwnProperty"]
        try await withGateway(extraConfiguration: "agent-timeout = 3s\nforget-after = 60s\n") { gateway in
            let agents = try names.map { try AgentProcess.start(name: $0, gatewayPort: gateway.agentPort) }
            defer { for agent in agents { agent.process.signal(SIGKILL) } }
            let allSending = await eventually {
                let list = try AgentsDocument.fetch(gateway)
                return list.agents.count == names.count && list.agents.allSatisfy { $0.samplesReceived > 0 }
            }
            #expect(allSending, "gateway: \(gateway.process.output)")
            let dom = try await Chromium.run(["--dump-dom"], url: "http://127.0.0.1:\(gateway.metricsPort)/")
            #expect(dom.firstMatch(of: /<p id="refresh"[^>]*class="error"/) == nil, "the refresh threw: \(dom)")
            let refreshes = dom.firstMatch(of: /data-refreshes="(\d+)"/).flatMap { Int($0.1) } ?? 0
            #expect(refreshes >= 1, "DOM: \(dom)")
            // Their state depends on timing under load; that each has its row is the point.
            let rows = dom.matches(of: /<tr data-agent="([^"]+)" class="state-\w+">/).map { String($0.1) }
            #expect(rows == names.sorted(), "DOM: \(dom)")
        }
    }
}
