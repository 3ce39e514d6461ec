import MonitorModel
import NIOCore

/// Samples the agent has taken and the gateway has not yet acknowledged, oldest first.
///
/// Bounded to `capacity` samples in memory. Without a spool, when full, the oldest sample is
/// dropped (and counted) so that a long outage costs a fixed amount of memory and the most recent
/// history is what survives. With a spool (`backedBySpool`), memory is only a window onto the
/// spool: the oldest sample leaves memory but stays undelivered, its number remembered in
/// ``spooledOnly`` so that the writer reads it back from disk, in order, before the window. A
/// sample the spool failed to write (a full disk) is in memory only: when it leaves the window it
/// is dropped and counted like one without a spool, not believed to be on disk.
struct SampleBuffer {
    private struct Entry {
        var sample: Sample
        /// Whether the spool holds a copy, so that leaving memory does not lose it.
        var onDisk: Bool
    }
    private var samples = CircularBuffer<Entry>()
    private(set) var capacity: Int
    let backedBySpool: Bool
    /// Samples dropped because the buffer was full (or the spool lost them), since the agent started.
    private(set) var droppedCount: UInt64 = 0
    /// Undelivered samples that are on disk only, as increasing, disjoint ranges of sequence
    /// numbers (a range may cover numbers that were never used: gaps are harmless, the spool
    /// simply holds no sample for them).
    private(set) var spooledOnly: [ClosedRange<UInt64>] = []
    /// How many samples ``spooledOnly`` stands for.
    private(set) var spooledOnlyCount = 0

    init(capacity: Int, backedBySpool: Bool = false) {
        precondition(capacity > 0, "the configuration guarantees a positive capacity")
        self.capacity = capacity
        self.backedBySpool = backedBySpool
    }

    /// Undelivered samples, in memory and (with a spool) on disk only.
    var count: Int { samples.count + spooledOnlyCount }
    var isEmpty: Bool { count == 0 }
    /// Samples in memory.
    var inMemoryCount: Int { samples.count }
    var newestSequence: UInt64? { samples.last?.sample.sequence ?? spooledOnly.last?.upperBound }

    /// Adds the newest sample; `onDisk` says whether the spool wrote it (it defaults to whether
    /// there is a spool).
    mutating func append(_ sample: Sample, onDisk: Bool? = nil) {
        if samples.count >= capacity { evictOldest() }
        samples.append(Entry(sample: sample, onDisk: onDisk ?? backedBySpool))
    }

    /// Notes undelivered samples that a recovered spool holds but memory does not (older than the
    /// window). `count` is how many samples the ranges stand for.
    mutating func noteSpooledOnly(_ ranges: [ClosedRange<UInt64>], count: Int) {
        for range in ranges { addSpooledOnly(range, count: 0) }
        spooledOnlyCount += count
    }

    private mutating func evictOldest() {
        let oldest = samples.removeFirst()
        if backedBySpool, oldest.onDisk {
            addSpooledOnly(oldest.sample.sequence...oldest.sample.sequence, count: 1)
        } else {
            droppedCount += 1
        }
    }

    private mutating func addSpooledOnly(_ range: ClosedRange<UInt64>, count: Int) {
        spooledOnlyCount += count
        if let last = spooledOnly.last, last.upperBound < UInt64.max, last.upperBound + 1 >= range.lowerBound {
            spooledOnly[spooledOnly.count - 1] = last.lowerBound...max(last.upperBound, range.upperBound)
        } else {
            spooledOnly.append(range)
        }
    }

    /// Forgets every sample up to and including `sequence`: the gateway holds them. Returns how
    /// many were forgotten.
    @discardableResult
    mutating func acknowledge(upTo sequence: UInt64) -> Int {
        var count = forgetSpooledOnly(upTo: sequence)
        while let first = samples.first, first.sample.sequence <= sequence {
            samples.removeFirst()
            count += 1
        }
        return count
    }

    /// The first range of numbers after `sequence` that only the spool holds, if the writer must
    /// read from disk before it can go on with memory.
    func spooledOnly(after sequence: UInt64) -> ClosedRange<UInt64>? {
        guard let range = spooledOnly.first(where: { $0.upperBound > sequence }) else { return nil }
        return max(range.lowerBound, sequence + 1)...range.upperBound
    }

    /// The spool no longer holds the samples numbered up to `sequence` that memory left to it
    /// (it deleted them to stay within its size): they are dropped and counted.
    mutating func spoolLost(upTo sequence: UInt64) {
        droppedCount += UInt64(forgetSpooledOnly(upTo: sequence))
    }

    /// Removes the on-disk-only numbers up to `sequence`; returns how many samples they stood for,
    /// counting a partly removed range in proportion to the numbers removed (exact when, as
    /// usual, the range has no gaps).
    private mutating func forgetSpooledOnly(upTo sequence: UInt64) -> Int {
        var forgotten = 0
        while let first = spooledOnly.first, first.lowerBound <= sequence {
            if first.upperBound <= sequence {
                spooledOnly.removeFirst()
                forgotten += Int(clamping: first.upperBound - first.lowerBound + 1)
            } else {
                spooledOnly[0] = (sequence + 1)...first.upperBound
                forgotten += Int(clamping: sequence - first.lowerBound + 1)
            }
        }
        forgotten = spooledOnly.isEmpty ? spooledOnlyCount : min(forgotten, spooledOnlyCount)
        spooledOnlyCount -= forgotten
        return forgotten
    }

    /// The samples in memory after `sequence`, in order, at most `limit` of them.
    ///
    /// Sequences in the buffer increase but may have gaps (a spool that lost a damaged record), so
    /// the start is found by binary search.
    func samples(after sequence: UInt64, limit: Int) -> [Sample] {
        var low = 0
        var high = samples.count
        while low < high {
            let middle = (low + high) / 2
            if samples[samples.index(samples.startIndex, offsetBy: middle)].sample.sequence <= sequence {
                low = middle + 1
            } else {
                high = middle
            }
        }
        let skip = low
        guard skip < samples.count else { return [] }
        let start = samples.index(samples.startIndex, offsetBy: skip)
        let end = samples.index(start, offsetBy: min(limit, samples.count - skip))
        return samples[start..<end].map(\.sample)
    }

    /// Drops every undelivered sample, in memory and on disk only, counting them as dropped: for a
    /// numbering that ends (a spool at its ceiling starts a new session the gateway cannot relate them to).
    mutating func discardAll() {
        droppedCount += UInt64(count)
        samples.removeAll()
        spooledOnly.removeAll()
        spooledOnlyCount = 0
    }

    /// Counts samples dropped before they reached the buffer (older than what a spool could hand over).
    mutating func countDropped(_ count: Int) {
        droppedCount += UInt64(count)
    }

    /// Applies a new capacity from a reloaded configuration: the oldest leave memory if it shrank
    /// (dropped without a spool, left on disk with one).
    mutating func resize(to newCapacity: Int) {
        precondition(newCapacity > 0, "the configuration guarantees a positive capacity")
        capacity = newCapacity
        while samples.count > capacity { evictOldest() }
    }
}
