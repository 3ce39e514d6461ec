import Foundation
import TestSupport
import Testing

@testable import GatewayKit
@testable import GatewayStore

/// packaging/grafana/monitord.json: valid JSON, every query on the `${DS_PROMETHEUS}` variable, and every PromQL
/// expression naming only metric families that monitord's own `/metrics` renderer writes.
@Suite struct StatusGrafanaDashboardTests {
    static let path =
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("packaging/grafana/monitord.json").path
    static let datasource = ["type": "prometheus", "uid": "${DS_PROMETHEUS}"]

    func dashboard() throws -> [String: Any] {
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.path))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    func panels() throws -> [[String: Any]] {
        try #require(try dashboard()["panels"] as? [[String: Any]])
    }

    /// Every PromQL expression: the panels' targets and the template variables' queries.
    func expressions() throws -> [String] {
        var result: [String] = []
        for panel in try panels() {
            for target in panel["targets"] as? [[String: Any]] ?? [] {
                result.append(try #require(target["expr"] as? String))
            }
        }
        let templating = try #require(try dashboard()["templating"] as? [String: Any])
        for variable in try #require(templating["list"] as? [[String: Any]])
        where variable["type"] as? String == "query" {
            let query = try #require(variable["query"] as? [String: Any])
            result.append(try #require(query["query"] as? String))
        }
        return result
    }

    /// The families monitord exports, read from a page its renderer writes for one agent, with process metrics and
    /// the gateway's counters: the same call `GET /metrics` makes.
    static func exportedFamilies() throws -> Set<String> {
        let store = AgentStore(agentTimeout: .seconds(30), forgetAfter: .seconds(300))
        _ = store.connected(agent: "a", session: "s", dialect: .native, remoteAddress: "x", now: 1000)
        _ = store.record(makeSample(1, at: 1000), agent: "a", session: "s", now: 1000)
        let page = MetricsPage.render(
            store: store.snapshot(now: 1000), process: ProcessMetrics.current(),
            extra: GatewayCounters().families())
        let text = String(decoding: page, as: UTF8.self)
        return Set(
            text.split(separator: "\n").compactMap { line in
                line.hasPrefix("# TYPE ") ? line.split(separator: " ").dropFirst(2).first.map(String.init) : nil
            })
    }

    /// The metric names of a PromQL expression: identifiers outside strings, label matchers and ranges that are
    /// neither functions nor keywords. Enough for the dashboard's queries, which the promtool test parses for real.
    static func metricNames(in expression: String) -> Set<String> {
        let keywords: Set<String> = [
            "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "offset", "bool",
        ]
        var text = expression.replacing(/"(?:[^"\\]|\\.)*"/, with: "\"\"")
        text = text.replacing(/\{[^}]*\}/, with: " ").replacing(/\[[^\]]*\]/, with: " ")
        text = text.replacing(/\b(by|without|on|ignoring)\s*\([^)]*\)/, with: " ")
        var names: Set<String> = []
        for match in text.matches(of: /([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/) {
            let name = String(match.1)
            if match.2 == nil, !keywords.contains(name) { names.insert(name) }
        }
        return names
    }

    @Test func metricNameExtraction() {
        #expect(
            Self.metricNames(in: #"sum by (reason) (rate(monitord_peer_errors_total{job=~"$job"}[5m]))"#)
                == ["monitord_peer_errors_total"])
        #expect(Self.metricNames(in: "time() - last_seen{a=\"b\"}") == ["last_seen"])
        #expect(Self.metricNames(in: "count(up == 0) or vector(0)") == ["up"])
        #expect(
            Self.metricNames(in: "label_values(monitord_agent_up, agent_number)") == [
                "monitord_agent_up", "agent_number",
            ])
    }

    @Test func isADashboardForGrafana10() throws {
        let dashboard = try dashboard()
        #expect(try #require(dashboard["schemaVersion"] as? Int) >= 38)
        #expect(dashboard["uid"] as? String == "monitord-overview")
        let ids = try panels().compactMap { $0["id"] as? Int }
        #expect(ids.count == (try panels().count) && Set(ids).count == ids.count, "every panel has a unique id")
        #expect(try panels().allSatisfy { $0["gridPos"] is [String: Int] })
    }

    @Test func everyQueryUsesTheDatasourceVariable() throws {
        for panel in try panels() where panel["type"] as? String != "row" {
            let title = panel["title"] as? String ?? "?"
            #expect(panel["datasource"] as? [String: String] == Self.datasource, "\(title)")
            let targets = try #require(panel["targets"] as? [[String: Any]], "\(title)")
            #expect(!targets.isEmpty, "\(title)")
            for target in targets {
                #expect(target["datasource"] as? [String: String] == Self.datasource, "\(title)")
            }
        }
        let templating = try #require(try dashboard()["templating"] as? [String: Any])
        let variables = try #require(templating["list"] as? [[String: Any]])
        let source = try #require(variables.first { $0["name"] as? String == "DS_PROMETHEUS" })
        #expect(source["type"] as? String == "datasource" && source["query"] as? String == "prometheus")
        let agent = try #require(variables.first { $0["name"] as? String == "agent" })
        #expect(agent["datasource"] as? [String: String] == Self.datasource)
        #expect(
            (agent["query"] as? [String: Any])?["query"] as? String == "label_values(monitord_agent_up, agent_number)")
    }

    @Test func everyExpressionNamesOnlyExportedFamilies() throws {
        let exported = try Self.exportedFamilies()
        // The labels label_values() reads are not families.
        let labels: Set<String> = ["agent_number", "job"]
        var used: Set<String> = []
        for expression in try expressions() {
            let names = Self.metricNames(in: expression).subtracting(labels)
            #expect(!names.isEmpty, "\(expression) names no metric")
            #expect(names.isSubset(of: exported), "\(expression): \(names.subtracting(exported)) not exported")
            used.formUnion(names)
        }
        // What the dashboard promises to show.
        for family in [
            "process_cpu_usage_percent", "process_ram_usage_percent", "process_ram_gigabytes",
            "process_cpu_interrupts_total", "monitord_agent_up", "monitord_agent_last_seen_timestamp_seconds",
            "monitord_agents", "monitord_peer_errors_total", "monitord_connections_accepted_total",
            "process_resident_memory_bytes",
        ] {
            #expect(used.contains(family), "\(family) is on no panel")
        }
    }

    @Test(.enabled(if: Promtool.isInstalled, "needs promtool"))
    func everyExpressionParsesWithPromtool() throws {
        // promtool parses the PromQL of a rules file; Grafana's variables become what they expand to.
        var rules = "groups:\n  - name: dashboard\n    rules:\n"
        for (index, expression) in try expressions().enumerated() where !expression.hasPrefix("label_values(") {
            let expanded = expression.replacing("$agent", with: ".*").replacing("$job", with: ".*")
            let quoted = expanded.replacing("\\", with: "\\\\").replacing("\"", with: "\\\"")
            rules += "      - record: dashboard:expression_\(index)\n        expr: \"\(quoted)\"\n"
        }
        let (status, printed) = try Promtool.checkRules(rules)
        #expect(status == 0, "\(printed)\n\(rules)")
        #expect(printed.contains("SUCCESS"), "\(printed)")
    }
}
