/// A parsed Prometheus text exposition, for assertions on families, labels and values.
struct MetricsPage {
    struct Series: Equatable {
        var name: String
        var labels: [String: String]
        var value: Double
    }

    let text: String
    let series: [Series]

    init(text: String) {
        self.text = text
        var series: [Series] = []
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else {
                continue
            }
            let head = line[..<space]
            var labels: [String: String] = [:]
            let name: Substring
            if let brace = head.firstIndex(of: "{") {
                name = head[..<brace]
                let body = head[head.index(after: brace)..<(head.lastIndex(of: "}") ?? head.endIndex)]
                for match in body.matches(of: /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/) {
                    labels[String(match.1)] = String(match.2)
                }
            } else {
                name = head
            }
            series.append(Series(name: String(name), labels: labels, value: value))
        }
        self.series = series
    }

    /// The value of `name` for the agent labelled `agent`, if exported.
    func value(_ name: String, agent: String) -> Double? {
        series.first { $0.name == name && $0.labels["agent_number"] == agent }?.value
    }

    /// The value of `name`'s series without labels (the gateway's own counters), if exported.
    func value(_ name: String) -> Double? {
        series.first { $0.name == name && $0.labels.isEmpty }?.value
    }

    /// The agent labels that export `name`.
    func agents(exporting name: String) -> Set<String> {
        Set(series.filter { $0.name == name }.compactMap { $0.labels["agent_number"] })
    }

    static let reportFamilies = [
        "process_ram_usage_percent", "process_cpu_usage_percent", "process_ram_gigabytes",
        "process_cpu_interrupts_total",
    ]
}
