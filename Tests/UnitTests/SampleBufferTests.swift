import Testing

@testable import AgentKit
@testable import MonitorModel

@Suite("Agent sample buffer")
struct SampleBufferTests {
    @Test("when full, the oldest sample is dropped and counted")
    func dropsOldest() {
        var buffer = SampleBuffer(capacity: 3)
        for sequence in 1...5 { buffer.append(makeSample(UInt64(sequence), at: Double(sequence))) }
        #expect(buffer.count == 3)
        #expect(buffer.droppedCount == 2)
        #expect(buffer.samples(after: 0, limit: 10).map(\.sequence) == [3, 4, 5])
    }

    @Test("an acknowledgement forgets everything up to it, and only that")
    func acknowledge() {
        var buffer = SampleBuffer(capacity: 10)
        for sequence in 1...6 { buffer.append(makeSample(UInt64(sequence), at: Double(sequence))) }
        buffer.acknowledge(upTo: 4)
        #expect(buffer.samples(after: 0, limit: 10).map(\.sequence) == [5, 6])
        buffer.acknowledge(upTo: 2)  // stale ack: no effect
        #expect(buffer.count == 2)
        buffer.acknowledge(upTo: 100)
        #expect(buffer.isEmpty)
    }

    @Test("samples after a sequence, in order and limited", arguments: [0, 1, 3, 6, 7, 50])
    func samplesAfter(sequence: UInt64) {
        var buffer = SampleBuffer(capacity: 10)
        for value in 2...7 { buffer.append(makeSample(UInt64(value), at: Double(value))) }
        let expected = (2...7).map(UInt64.init).filter { $0 > sequence }
        #expect(buffer.samples(after: sequence, limit: 100).map(\.sequence) == expected)
        #expect(buffer.samples(after: sequence, limit: 2).map(\.sequence) == Array(expected.prefix(2)))
    }

    @Test("with a spool, a sample leaving memory stays undelivered only if the spool wrote it")
    func unspooledSamplesAreDroppedWhenTheyLeaveMemory() {
        var buffer = SampleBuffer(capacity: 2, backedBySpool: true)
        // 2 and 3 failed to reach the disk (a full disk), 1 and 4 to 6 did.
        for value: UInt64 in 1...6 {
            buffer.append(makeSample(value, at: Double(value)), onDisk: !(2...3).contains(value))
        }
        #expect(buffer.samples(after: 0, limit: 10).map(\.sequence) == [5, 6])
        #expect(buffer.droppedCount == 2)
        #expect(buffer.count == 4)
        #expect(buffer.spooledOnly == [1...1, 4...4])
        #expect(buffer.spooledOnly(after: 1) == 4...4)
        // Acknowledging everything forgets the two that were on disk and no more.
        #expect(buffer.acknowledge(upTo: 6) == 4)
        #expect(buffer.droppedCount == 2)
    }

    @Test("shrinking the capacity drops the oldest")
    func resize() {
        var buffer = SampleBuffer(capacity: 10)
        for value in 1...8 { buffer.append(makeSample(UInt64(value), at: Double(value))) }
        buffer.resize(to: 3)
        #expect(buffer.samples(after: 0, limit: 10).map(\.sequence) == [6, 7, 8])
        #expect(buffer.droppedCount == 5)
    }
}
