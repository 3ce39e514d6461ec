/// The two formats `/metrics` speaks, chosen per scrape from the `Accept` header.
///
/// Prometheus asks for OpenMetrics first (`application/openmetrics-text;version=1.0.0,...,
/// text/plain;version=0.0.4;q=0.5,*/*;q=0.1`); curl, browsers and older scrapers ask for anything
/// and get the 0.0.4 text format, as before OpenMetrics was offered.
public enum ExpositionFormat: Sendable, Equatable {
    /// The Prometheus text format, version 0.0.4.
    case text
    /// OpenMetrics 1.0.0: counter families named without `_total`, `# UNIT` lines, `# EOF` at the end.
    case openMetrics

    public var contentType: String {
        switch self {
        case .text: "text/plain; version=0.0.4; charset=utf-8"
        case .openMetrics: "application/openmetrics-text; version=1.0.0; charset=utf-8"
        }
    }

    /// OpenMetrics when the client accepts it (version 1.0.0 or unversioned) at least as much as the
    /// text format; the text format otherwise, and when there is no `Accept` at all.
    public static func negotiate(accept: String?) -> ExpositionFormat {
        guard let accept else { return .text }
        var openMetricsQuality = 0.0
        var textQuality = 0.0
        for range in accept.split(separator: ",") {
            let parts = range.split(separator: ";").map { $0.trimmingSpaces().lowercased() }
            guard let mediaType = parts.first else { continue }
            var quality = 1.0
            var version: String?
            for parameter in parts.dropFirst() {
                let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingSpaces() }
                guard pair.count == 2 else { continue }
                let value = pair[1].trimmingQuotes()
                switch pair[0] {
                case "q": quality = Double(value).map { min(max($0, 0), 1) } ?? 0
                case "version": version = value
                default: break
                }
            }
            switch mediaType {
            case "application/openmetrics-text" where version == nil || version == "1.0.0":
                openMetricsQuality = max(openMetricsQuality, quality)
            case "text/plain" where version == nil || version == "0.0.4", "text/*", "*/*":
                textQuality = max(textQuality, quality)
            default:
                break
            }
        }
        return openMetricsQuality > 0 && openMetricsQuality >= textQuality ? .openMetrics : .text
    }
}

extension StringProtocol {
    fileprivate func trimmingSpaces() -> String {
        String(drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" }.reversed())
    }

    fileprivate func trimmingQuotes() -> String {
        hasPrefix("\"") && hasSuffix("\"") && count >= 2 ? String(dropFirst().dropLast()) : String(self)
    }
}
