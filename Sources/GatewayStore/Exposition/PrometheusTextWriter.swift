public import MonitorModel

/// Appends the Prometheus text exposition format (version 0.0.4), or OpenMetrics 1.0.0, to a byte buffer.
///
/// Hand-written rather than taken from a client library because the store, not a registry, owns the series: a page is
/// rendered from a snapshot each scrape, so an expired agent's series simply are not written. Works on UTF-8 bytes
/// directly and reuses one growing buffer, so ten thousand agents render in a few milliseconds. Samples carry no
/// timestamps: Prometheus stamps them at scrape time, which keeps staleness handling its own.
///
/// The two formats differ only in the metadata and the end: in OpenMetrics a counter's family is named
/// without `_total` while its samples keep it, a family whose name ends in a base unit (`_seconds`,
/// `_bytes`) declares it with `# UNIT`, help text escapes quotes, and the
/// exposition ends with `# EOF` (``finish()``). Sample lines are the same.
public struct PrometheusTextWriter: Sendable {
    /// The exposition written so far, ready to be sent as a body of ``format``'s content type.
    public private(set) var bytes: [UInt8]
    public let format: ExpositionFormat

    public init(reservingCapacity capacity: Int = 4096, format: ExpositionFormat = .text) {
        bytes = []
        bytes.reserveCapacity(capacity)
        self.format = format
    }

    /// Writes the metadata lines that must precede a family's samples (`# HELP`, `# TYPE`, and in
    /// OpenMetrics `# UNIT`). `name` is the sample name; counters' end in `_total`.
    public mutating func family(_ name: String, help: String, type: MetricType) {
        let openMetrics = format == .openMetrics
        let familyName = openMetrics && type == .counter && name.hasSuffix("_total") ? String(name.dropLast(6)) : name
        append("# HELP ")
        append(familyName)
        bytes.append(UInt8(ascii: " "))
        appendEscaped(help, quotes: openMetrics)
        append("\n# TYPE ")
        append(familyName)
        bytes.append(UInt8(ascii: " "))
        append(type.rawValue)
        bytes.append(UInt8(ascii: "\n"))
        if openMetrics, let unit = Self.baseUnits.first(where: { familyName.hasSuffix("_" + $0) }) {
            append("# UNIT ")
            append(familyName)
            bytes.append(UInt8(ascii: " "))
            append(unit)
            bytes.append(UInt8(ascii: "\n"))
        }
    }

    /// The base units whose suffix makes a family declare `# UNIT` in OpenMetrics.
    static let baseUnits = ["seconds", "bytes"]

    /// Ends the exposition: `# EOF` in OpenMetrics, which a scraper needs to tell a whole page from a cut one.
    public mutating func finish() {
        if format == .openMetrics { append("# EOF\n") }
    }

    /// Writes a whole family: header, then its samples in order.
    public mutating func family(_ family: MetricFamily) {
        self.family(family.name, help: family.help, type: family.type)
        for sample in family.samples {
            self.sample(family.name, labels: sample.labels, value: sample.value)
        }
    }

    /// Appends lines this writer (or another of the same kind) rendered before: whole sample lines,
    /// kept between scrapes (``RenderedAgentLines``).
    mutating func append(rendered lines: ArraySlice<UInt8>) {
        bytes.append(contentsOf: lines)
    }

    /// Writes one sample with any number of labels.
    public mutating func sample(_ name: String, labels: [MetricLabel], value: Double) {
        append(name)
        appendLabels(labels)
        bytes.append(UInt8(ascii: " "))
        PrometheusNumber.append(value, to: &bytes)
        bytes.append(UInt8(ascii: "\n"))
    }

    /// Writes one sample with a single label: the per-agent fast path, which builds no label array.
    public mutating func sample(_ name: String, label: String, _ labelValue: String, value: Double) {
        appendSingleLabelPrefix(name, label: label, labelValue)
        PrometheusNumber.append(value, to: &bytes)
        bytes.append(UInt8(ascii: "\n"))
    }

    /// Writes one sample with a single label and an integer value, exactly: counts above 2^53 would lose digits as a
    /// `Double`. (A distinct argument label, so that a literal `value: 1` is never ambiguous.)
    public mutating func sample(_ name: String, label: String, _ labelValue: String, count: UInt64) {
        appendSingleLabelPrefix(name, label: label, labelValue)
        PrometheusNumber.append(count, to: &bytes)
        bytes.append(UInt8(ascii: "\n"))
    }

    private mutating func appendSingleLabelPrefix(_ name: String, label: String, _ labelValue: String) {
        append(name)
        bytes.append(UInt8(ascii: "{"))
        append(label)
        bytes.append(contentsOf: [UInt8(ascii: "="), UInt8(ascii: "\"")])
        appendEscaped(labelValue, quotes: true)
        bytes.append(contentsOf: [UInt8(ascii: "\""), UInt8(ascii: "}"), UInt8(ascii: " ")])
    }

    private mutating func appendLabels(_ labels: [MetricLabel]) {
        guard !labels.isEmpty else { return }
        bytes.append(UInt8(ascii: "{"))
        for (index, label) in labels.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            append(label.name)
            bytes.append(contentsOf: [UInt8(ascii: "="), UInt8(ascii: "\"")])
            appendEscaped(label.value, quotes: true)
            bytes.append(UInt8(ascii: "\""))
        }
        bytes.append(UInt8(ascii: "}"))
    }

    /// Strings are appended from their UTF-8 storage in one copy: iterating `utf8` byte by byte was
    /// a tenth of a scrape's CPU with 10,000 agents' names (issue 14, fifth round).
    private mutating func append(_ text: String) {
        var text = text
        text.withUTF8 { bytes.append(contentsOf: $0) }
    }

    /// Escapes `\` and line feeds, and in label values also `"`, as the format requires; help text keeps its quotes.
    private mutating func appendEscaped(_ text: String, quotes: Bool) {
        var text = text
        text.withUTF8 { utf8 in
            let needsEscaping = utf8.contains { byte in
                byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "\n") || (quotes && byte == UInt8(ascii: "\""))
            }
            guard needsEscaping else {
                bytes.append(contentsOf: utf8)
                return
            }
            for byte in utf8 {
                switch byte {
                case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
                case UInt8(ascii: "\n"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
                case UInt8(ascii: "\"") where quotes:
                    bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
                default: bytes.append(byte)
                }
            }
        }
    }
}
