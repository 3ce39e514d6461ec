/// Percentiles of send→ack latencies, nearest-rank on the exact sorted sample (no histogram
/// approximation: a run records at most a few million values, which sorts in well under a second).
public struct LatencySummary: Sendable, Equatable {
    public var count: Int
    /// Microseconds.
    public var p50: UInt32
    public var p90: UInt32
    public var p99: UInt32
    public var max: UInt32

    /// Summarises `microseconds`, sorting it in place; all zeros when it is empty.
    public init(sorting microseconds: inout [UInt32]) {
        microseconds.sort()
        count = microseconds.count
        func rank(_ fraction: Double) -> UInt32 {
            guard !microseconds.isEmpty else { return 0 }
            // Nearest rank: the smallest value with at least `fraction` of the sample at or below it.
            let index = Int((fraction * Double(microseconds.count)).rounded(.up)) - 1
            return microseconds[Swift.min(Swift.max(index, 0), microseconds.count - 1)]
        }
        p50 = rank(0.50)
        p90 = rank(0.90)
        p99 = rank(0.99)
        max = microseconds.last ?? 0
    }
}
