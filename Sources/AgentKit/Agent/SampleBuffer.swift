import MonitorModel
import NIOCore

/// Samples the agent has taken and the gateway has not yet acknowledged, oldest first.
///
/// Bounded: when full, the oldest sample is dropped (and counted) so that a long outage costs a
/// fixed amount of memory and the most recent history is what survives.
struct SampleBuffer {
    private var samples = CircularBuffer<Sample>()
    private(set) var capacity: Int
    /// Samples dropped because the buffer was full, since the agent started.
    private(set) var droppedCount: UInt64 = 0

    init(capacity: Int) {
        precondition(capacity > 0, "the configuration guarantees a positive capacity")
        self.capacity = capacity
    }

    var count: Int { samples.count }
    var isEmpty: Bool { samples.isEmpty }
    var newestSequence: UInt64? { samples.last?.sequence }

    mutating func append(_ sample: Sample) {
        if samples.count >= capacity {
            samples.removeFirst()
            droppedCount += 1
        }
        samples.append(sample)
    }

    /// Forgets every sample up to and including `sequence`: the gateway holds them. Returns how
    /// many were forgotten.
    @discardableResult
    mutating func acknowledge(upTo sequence: UInt64) -> Int {
        var count = 0
        while let first = samples.first, first.sequence <= sequence {
            samples.removeFirst()
            count += 1
        }
        return count
    }

    /// The samples after `sequence`, in order, at most `limit` of them.
    ///
    /// Sequences in the buffer increase but may have gaps (a spool that lost a damaged record), so
    /// the start is found by binary search.
    func samples(after sequence: UInt64, limit: Int) -> ArraySlice<Sample> {
        var low = 0
        var high = samples.count
        while low < high {
            let middle = (low + high) / 2
            if samples[samples.index(samples.startIndex, offsetBy: middle)].sequence <= sequence {
                low = middle + 1
            } else {
                high = middle
            }
        }
        let skip = low
        guard skip < samples.count else { return [] }
        let start = samples.index(samples.startIndex, offsetBy: skip)
        let end = samples.index(start, offsetBy: min(limit, samples.count - skip))
        return ArraySlice(samples[start..<end])
    }

    /// Counts samples dropped before they reached the buffer (older than what a spool could hand over).
    mutating func countDropped(_ count: Int) {
        droppedCount += UInt64(count)
    }

    /// Applies a new capacity from a reloaded configuration, dropping the oldest if it shrank.
    mutating func resize(to newCapacity: Int) {
        precondition(newCapacity > 0, "the configuration guarantees a positive capacity")
        capacity = newCapacity
        while samples.count > capacity {
            samples.removeFirst()
            droppedCount += 1
        }
    }
}
