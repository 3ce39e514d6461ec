import Foundation
import Testing

@testable import GatewayStore
@testable import GatewayWAL
@testable import GatewayWALFiles
@testable import MonitorModel
@testable import MonitorSystem

/// Each segment starts with a checkpoint of the records before it: what lets a restart after
/// `wal-max-size` deleted the oldest segments restore the counters as they were.
@Suite("Write-ahead log checkpoints: written at each rotation, damage passed over, old segments read")
struct WALCheckpointTests {
    /// The records of agents "a", "b" and "c" summed, and a segment numbered from 101 that starts
    /// with their checkpoint and holds `after` (records of the same agents, numbered on).
    static func segment(after: [WALRecord]) -> (bytes: [UInt8], recordsStart: Int, before: LogCheckpoint) {
        var before = LogCheckpoint()
        for sequence in 1...100 as ClosedRange<UInt64> {
            before.add(walRecord(sequence, agent: ["a", "b", "c"][Int(sequence % 3)]))
        }
        var (bytes, agents) = WALFormat.start(firstRecord: 101, checkpoint: before)
        #expect(agents == 3)
        let recordsStart = bytes.count
        for record in after { WALFormat.append(record, to: &bytes) }
        return (bytes, recordsStart, before)
    }

    static let after = (101...110 as ClosedRange<UInt64>).map { walRecord($0, agent: ["a", "b", "c"][Int($0 % 3)]) }

    /// The totals the checkpoint and the records after it add up to, as a recovery must find them.
    static func expected(from before: LogCheckpoint, without missing: Set<String> = []) -> LogCheckpoint {
        var checkpoint = LogCheckpoint()
        for (name, agent) in before.agents where !missing.contains(name) { checkpoint.take(agent) }
        for record in after { checkpoint.add(record) }
        return checkpoint
    }

    @Test("a rotation writes the totals of every record before it; a log whose older segments are gone restores them")
    func checkpointCarriesTotals() async throws {
        let fixture = WALFixture()
        defer { fixture.remove() }
        var summed = LogCheckpoint()
        do {
            let (wal, _, _) = try fixture.open()
            let records = (1...30 as ClosedRange<UInt64>).map { walRecord($0, agent: $0 % 2 == 0 ? "even" : "odd") }
            _ = try wal.append(records)
            for record in records { summed.add(record) }
            await wal.close()
        }
        let (wal, first, _) = try fixture.open()
        #expect(first.checkpoint == summed)
        _ = try wal.append([walRecord(31, agent: "odd")])
        summed.add(walRecord(31, agent: "odd"))
        await wal.close()
        // The first run's segment goes, as the bound would delete it: the second's checkpoint holds it.
        try FileManager.default.removeItem(atPath: fixture.path(WALFormat.segmentName(1)))
        let (reopened, recovery, replayed) = try fixture.open()
        #expect(replayed == [walRecord(31, agent: "odd")])
        #expect(recovery.checkpoint == summed)
        #expect(recovery.checkpoint.agents["odd"]?.samplesReceived == 16)
        #expect(recovery.checkpoint.agents["even"]?.latest == walRecord(30, agent: "even"))
        // Numbering goes on after the records of the segments left.
        #expect(try reopened.append([walRecord(32, agent: "even")]) == 32)
        await reopened.close()
    }

    /// Damage to a segment's checkpoint, and what it must cost: the entries named, nothing else.
    enum CheckpointDamage: CaseIterable, Sendable {
        /// A flipped bit in the second entry (entries are written newest first: "b" for record 100,
        /// "a" for 99, "c" for 98): that entry alone is passed over.
        case flippedBitInAnEntry
        /// The first entry's length beyond any entry: the checkpoint cannot be stepped through.
        case lengthField

        func apply(to bytes: inout [UInt8], before: LogCheckpoint) {
            switch self {
            case .flippedBitInAnEntry:
                var entry: [UInt8] = []
                WALFormat.appendCheckpoint(before.agents["b"]!, to: &entry)
                bytes[WALFormat.headerBytes + entry.count + 20] ^= 0x04
            case .lengthField:
                bytes[WALFormat.headerBytes + 1] = 0xff
            }
        }

        var lostAgents: Set<String> {
            switch self {
            case .flippedBitInAnEntry: ["a"]
            case .lengthField: ["a", "b", "c"]
            }
        }

        var report: String {
            switch self {
            case .flippedBitInAnEntry: "1 checkpoint entries passed over"
            case .lengthField: "the rest of the checkpoint is passed over"
            }
        }
    }

    @Test(
        "damage in a checkpoint (a flipped bit, a length field) passes entries over, reported; every record counts",
        arguments: CheckpointDamage.allCases)
    func damagedCheckpointPassedOver(_ damage: CheckpointDamage) async throws {
        let (bytes, recordsStart, before) = Self.segment(after: Self.after)
        #expect(recordsStart > WALFormat.headerBytes)
        var damaged = bytes
        damage.apply(to: &damaged, before: before)
        let fixture = WALFixture()
        defer { fixture.remove() }
        try fixture.write(damaged, to: WALFormat.segmentName(101))
        let (wal, recovery, replayed) = try fixture.open()
        #expect(replayed == Self.after)
        #expect(recovery.checkpoint == Self.expected(from: before, without: damage.lostAgents))
        #expect(fixture.reports(damage.report).count == 1, "\(fixture.log.messages)")
        // The damage cost no record and no number, and the file is not cut.
        #expect(try wal.append([walRecord(111)]) == 111)
        #expect(try fixture.bytes(WALFormat.segmentName(101)) == damaged)
        await wal.close()
    }

    @Test(
        "every bit flipped in a checkpoint: never a trap, never a record lost or renumbered, only entries passed over")
    func everyBitFlipInTheCheckpoint() throws {
        let (bytes, recordsStart, before) = Self.segment(after: Self.after)
        for index in WALFormat.headerBytes..<recordsStart {
            for bit in 0..<8 {
                var flipped = bytes
                flipped[index] ^= 1 << bit
                var entries: [LogCheckpoint.Agent] = []
                var records: [WALRecord] = []
                let contents = try WALSegmentReader.read(flipped[...]) {
                    entries.append($0)
                } each: { record, _ in
                    records.append(record)
                }
                #expect(records == Self.after && contents.recordCount == 10 && contents.skipped == 0)
                #expect(contents.damage == nil && contents.validBytes == flipped.count)
                #expect(contents.checkpointDamage != nil, "byte \(index) bit \(bit)")
                #expect(entries.count == contents.checkpointEntries && entries.count < 3)
                // What is taken is true: an entry either reads back exactly or not at all.
                #expect(entries.allSatisfy { before.agents[$0.latest.agent] == $0 })
            }
        }
    }

    @Test("a header whose checkpoint length goes past the end of the file: the segment is reported and deleted")
    func checkpointPastTheEnd() async throws {
        let fixture = WALFixture()
        defer { fixture.remove() }
        let header = WALFixture.header("MONDWAL2", firstRecord: 1, checkpointBytes: .max)
        try fixture.write(header, to: WALFormat.segmentName(1))
        let (wal, recovery, _) = try fixture.open()
        #expect(recovery.damaged == 1 && recovery.checkpoint == LogCheckpoint())
        #expect(fixture.reports("beyond the file or the bound").count == 1, "\(fixture.log.messages)")
        await wal.close()
    }

    @Test("segments of the first version (MONDWAL1, no checkpoint) are still read, and the next one has a checkpoint")
    func firstVersionSegmentsRead() async throws {
        let fixture = WALFixture()
        defer { fixture.remove() }
        var old = WALFixture.header("MONDWAL1", firstRecord: 1)
        let records = (1...20 as ClosedRange<UInt64>).map { walRecord($0) }
        for record in records { WALFormat.append(record, to: &old) }
        try fixture.write(old, to: WALFormat.segmentName(1))
        var summed = LogCheckpoint()
        for record in records { summed.add(record) }
        do {
            let (wal, recovery, replayed) = try fixture.open()
            #expect(replayed == records && recovery.damaged == 0 && recovery.checkpoint == summed)
            #expect(try wal.append([walRecord(21)]) == 21)
            summed.add(walRecord(21))
            await wal.close()
        }
        try FileManager.default.removeItem(atPath: fixture.path(WALFormat.segmentName(1)))
        let (wal, recovery, _) = try fixture.open()
        #expect(recovery.checkpoint == summed && recovery.checkpoint.agents["host-a"]?.samplesReceived == 21)
        await wal.close()
    }

    @Test("agents past forget-after, and beyond max-agents the least recently active, leave the checkpoint")
    func retention() async throws {
        let fixture = WALFixture()
        defer { fixture.remove() }
        let retention = WriteAheadLog.Retention(forgetAfter: .seconds(3600), maximumAgents: 2)
        try FileManager.default.createDirectory(atPath: fixture.directory, withIntermediateDirectories: true)
        do {
            let (wal, _) = try WriteAheadLog.open(
                directory: fixture.directory, maximumBytes: 64 << 20, policy: .always, retention: retention,
                logger: fixture.log.logger
            ) { _ in }
            var retired = walRecord(1, agent: "retired")
            retired.arrival -= 7200
            _ = try wal.append([retired, walRecord(2, agent: "old"), walRecord(3, agent: "new-1")])
            _ = try wal.append([walRecord(4, agent: "new-2")])
            await wal.close()
        }
        let (wal, recovery) = try WriteAheadLog.open(
            directory: fixture.directory, maximumBytes: 64 << 20, policy: .always, retention: retention,
            logger: fixture.log.logger
        ) { _ in }
        #expect(recovery.checkpoint.agents.keys.sorted() == ["new-1", "new-2"])
        await wal.close()
    }
}
