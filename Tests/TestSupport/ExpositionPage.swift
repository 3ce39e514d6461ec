/// A parsed Prometheus text exposition, for assertions on families, labels and values: the unit
/// tests read the gateway's rendered page with it, the end-to-end tests the page a daemon serves.
public struct ExpositionPage: Sendable {
    public struct Series: Equatable, Sendable {
        public var name: String
        public var labels: [String: String]
        public var value: Double

        public init(name: String, labels: [String: String], value: Double) {
            self.name = name
            self.labels = labels
            self.value = value
        }
    }

    public let text: String
    /// Each sample line whose value reads as a number, with its labels parsed.
    public let series: [Series]
    /// Each sample line as written: the series (name and label set) to the value's text.
    public private(set) var samples: [String: String] = [:]
    /// The `# TYPE` and `# HELP` of each family, and the families in the order of their `# HELP`.
    public private(set) var types: [String: String] = [:]
    public private(set) var helps: [String: String] = [:]
    public private(set) var familyOrder: [String] = []

    public init(_ bytes: [UInt8]) {
        self.init(text: String(decoding: bytes, as: UTF8.self))
    }

    public init(text: String) {
        self.text = text
        var series: [Series] = []
        for line in text.split(separator: "\n") {
            if line.hasPrefix("# TYPE ") || line.hasPrefix("# HELP ") {
                let parts = line.dropFirst(7).split(separator: " ", maxSplits: 1)
                guard parts.count == 2 else { continue }
                if line.hasPrefix("# TYPE ") {
                    types[String(parts[0])] = String(parts[1])
                } else {
                    helps[String(parts[0])] = String(parts[1])
                    familyOrder.append(String(parts[0]))
                }
                continue
            }
            guard !line.hasPrefix("#"), let space = line.lastIndex(of: " ") else { continue }
            let head = line[..<space]
            let valueText = line[line.index(after: space)...]
            samples[String(head)] = String(valueText)
            guard let value = Double(valueText) else { continue }
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
    public func value(_ name: String, agent: String) -> Double? {
        series.first { $0.name == name && $0.labels["agent_number"] == agent }?.value
    }

    /// The value of `name`'s series without labels (the gateway's own counters), if exported.
    public func value(_ name: String) -> Double? {
        series.first { $0.name == name && $0.labels.isEmpty }?.value
    }

    /// The agent labels that export `name`.
    public func agents(exporting name: String) -> Set<String> {
        Set(series.filter { $0.name == name }.compactMap { $0.labels["agent_number"] })
    }

    public static let reportFamilies = [
        "process_ram_usage_percent", "process_cpu_usage_percent", "process_ram_gigabytes",
        "process_cpu_interrupts_total",
    ]
}
