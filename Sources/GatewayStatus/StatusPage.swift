public import GatewayStore
public import MonitorModel

/// The body of `GET /`: every known agent in one self-contained HTML page (inline CSS and JavaScript, no external
/// assets), for the operator who opens the gateway in a browser before opening Grafana.
///
/// The rows are rendered here, so the page is complete without JavaScript (and with `curl`); the inline script
/// then refreshes it from `/api/v1/agents` every few seconds, updating cells in place (no reload, no flicker), and
/// sorts by whichever column header is clicked.
public enum StatusPage {
    /// A column of the agents table: its key (shared with the script), header and whether it holds numbers.
    struct Column {
        var key: StaticString
        var title: StaticString
        var numeric = false
    }

    /// The columns, in order; `StatusPageScript` fills cells by the same keys.
    static let columns = [
        Column(key: "state", title: "State"),
        Column(key: "name", title: "Agent"),
        Column(key: "remoteAddress", title: "Remote address"),
        Column(key: "protocol", title: "Protocol"),
        Column(key: "connectedSince", title: "Connected for", numeric: true),
        Column(key: "lastSeen", title: "Last seen", numeric: true),
        Column(key: "ram", title: "RAM used", numeric: true),
        Column(key: "cpu", title: "CPU used", numeric: true),
        Column(key: "rss", title: "Agent RSS", numeric: true),
        Column(key: "interrupts", title: "Interrupts", numeric: true),
        Column(key: "samples", title: "Samples", numeric: true),
    ]

    public static func render(_ agents: [AgentSnapshot], now: Double, version: String = MonitorVersion.current)
        -> String
    {
        let counts = AgentHealthCounts(agents)
        var page = HTMLBuilder(reservingCapacity: 8192 + agents.count * 1024)
        page.raw("<!DOCTYPE html>\n")
        page.element("html", [.init("lang", "en")]) { page in
            page.element("head") { page in
                page.void("meta", [.init("charset", "utf-8")])
                page.void("meta", [.init("name", "viewport"), .init("content", "width=device-width, initial-scale=1")])
                page.element("title", text: "monitord: \(counts.total) agents")
                page.element("style") { $0.raw(StatusPageStyle.css) }
            }
            page.element("body") { page in
                page.element("header") { page in
                    page.element("h1") { page in
                        page.text("monitord ")
                        page.element("span", [.init("class", "version")], text: version)
                    }
                    page.element("nav") { page in
                        page.element("a", [.init("href", "/metrics")], text: "/metrics")
                        page.element("a", [.init("href", "/api/v1/agents")], text: "/api/v1/agents")
                    }
                }
                writeCounts(counts, to: &page)
                page.element("p", [.init("id", "refresh"), .init("data-now", number(now))]) { page in
                    page.text("As of ")
                    page.element("time", [.init("datetime", StatusFormat.isoUTC(now))], text: StatusFormat.isoUTC(now))
                    page.text(".")
                }
                page.element("table", [.init("id", "agents")]) { page in
                    page.element("thead") { page in
                        page.element("tr") { page in
                            for column in columns {
                                page.element(
                                    "th",
                                    [
                                        .init("data-key", column.key.description),
                                        .init("class", column.numeric ? "num" : nil),
                                        .init("aria-sort", column.key.description == "name" ? "ascending" : nil),
                                    ]
                                ) { page in
                                    page.element("button", [.init("type", "button")], text: column.title.description)
                                }
                            }
                        }
                    }
                    page.element("tbody") { page in
                        page.element(
                            "tr",
                            [.init("class", "empty"), .init("hidden", agents.isEmpty ? nil : "")]
                        ) { page in
                            page.element(
                                "td", [.init("colspan", String(columns.count))],
                                text: "No agent has connected yet, or all have been forgotten.")
                        }
                        for agent in agents {
                            writeRow(agent, now: now, to: &page)
                        }
                    }
                }
                page.element("footer") { page in
                    page.text(
                        "Up: connected and on time. Late: connected, but no sample within agent-timeout. "
                            + "Down: disconnected, kept until forget-after. Values in grey are older than agent-timeout."
                    )
                }
                page.element("script") { $0.raw(StatusPageScript.javascript) }
            }
        }
        page.raw("\n")
        return page.html
    }

    private static func writeCounts(_ counts: AgentHealthCounts, to page: inout HTMLBuilder) {
        page.element("p", [.init("id", "counts")]) { page in
            let items: [(StaticString, Int, String)] = [
                ("total", counts.total, "agents"), ("up", counts.up, "up"), ("late", counts.late, "late"),
                ("down", counts.down, "down"),
            ]
            for (key, count, label) in items {
                page.element("span", [.init("class", "count count-\(key)")]) { page in
                    page.element("b", [.init("data-count", key.description)], text: String(count))
                    page.text(" " + label)
                }
            }
        }
    }

    private static func writeRow(_ agent: AgentSnapshot, now: Double, to page: inout HTMLBuilder) {
        let state = AgentHealth(agent)
        let stale: String? = agent.fresh ? nil : "stale"
        let latest = agent.latest
        page.element("tr", [.init("data-agent", agent.name), .init("class", "state-\(state.rawValue)")]) { page in
            page.element("td", [.init("data-key", "state")]) { page in
                page.element("span", [.init("class", "pill")], text: state.rawValue)
            }
            page.element("td", [.init("data-key", "name")], text: agent.name)
            page.element("td", [.init("data-key", "remoteAddress")], text: agent.remoteAddress)
            let transport = AgentTransport.name(agent)
            page.element(
                "td", [.init("data-key", "protocol"), .init("title", "transport: \(transport)")],
                text: agent.usesTLS ? "\(agent.dialect.displayName), TLS" : agent.dialect.displayName)
            let since = agent.connected ? agent.connectedSince : nil
            page.element(
                "td",
                [
                    .init("data-key", "connectedSince"), .init("class", "num"),
                    .init("title", since.map(StatusFormat.isoUTC)),
                ],
                text: since.map { StatusFormat.duration(now - $0) } ?? "\u{2014}")
            page.element(
                "td",
                [
                    .init("data-key", "lastSeen"), .init("class", "num"),
                    .init("title", agent.lastSeen.map(StatusFormat.isoUTC)),
                ],
                text: agent.lastSeen.map { StatusFormat.duration(now - $0) + " ago" } ?? "never")
            let values: [(StaticString, String?)] = [
                ("ram", latest.map { StatusFormat.percent($0.ramUsagePercent) }),
                ("cpu", latest.map { StatusFormat.percent($0.cpuUsagePercent) }),
                ("rss", latest.map { StatusFormat.mebibytes(fromGibibytes: $0.processRAMGigabytes) }),
                ("interrupts", latest.map { String($0.cpuInterrupts) }),
            ]
            for (key, text) in values {
                page.element(
                    "td", [.init("data-key", key.description), .init("class", stale.map { "num " + $0 } ?? "num")],
                    text: text ?? "\u{2014}")
            }
            page.element(
                "td", [.init("data-key", "samples"), .init("class", "num")], text: String(agent.samplesReceived))
        }
    }

    private static func number(_ value: Double) -> String {
        var bytes: [UInt8] = []
        PrometheusNumber.append(value, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }
}
