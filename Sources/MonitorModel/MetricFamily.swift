/// The `# TYPE` of a family. Only the kinds this gateway exports; histograms and summaries are not needed.
public enum MetricType: String, Sendable {
    case counter
    case gauge
}

/// One `name="value"` pair of a sample.
public struct MetricLabel: Sendable, Hashable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

/// One line of a family: its labels (in the order written) and its value.
///
/// Built by one public initializer, which reads like the exposition itself.
public struct MetricSample: Sendable, Hashable {
    public var labels: [MetricLabel]
    public var value: Double

    /// `MetricSample(3, labels: ["reason": "tls"])`; the literal keeps label order.
    public init(_ value: Double, labels: KeyValuePairs<String, String> = [:]) {
        self.labels = labels.map { MetricLabel(name: $0.key, value: $0.value) }
        self.value = value
    }
}

/// A family the gateway adds to `/metrics` beyond the store's (its own counters, say), without knowing the format.
///
/// Names and label names are the programmer's, not a peer's, and are written as given: they must match
/// `[a-zA-Z_:][a-zA-Z0-9_:]*` (labels: no `:`). Label values and help text may be anything; they are escaped.
public struct MetricFamily: Sendable, Hashable {
    public var name: String
    public var help: String
    public var type: MetricType
    public var samples: [MetricSample]

    public init(name: String, help: String, type: MetricType, samples: [MetricSample]) {
        self.name = name
        self.help = help
        self.type = type
        self.samples = samples
    }
}
