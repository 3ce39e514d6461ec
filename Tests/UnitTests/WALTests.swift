import Foundation
import Synchronization
import TestSupport
import Testing

@testable import GatewayStore
@testable import GatewayWAL
@testable import GatewayWALFiles
@testable import MonitorModel
@testable import MonitorSystem

/// A write-ahead log in a fresh temporary directory.
struct WALFixture {
    let directory: String
    let log = LogCapture()

    init(directory: String = temporaryPath("wal-test") + "/wal") {
        self.directory = directory
    }

    func open(
        maximumBytes: Int = 64 << 20, policy: WriteAheadLog.SyncPolicy = .always
    ) throws -> (WriteAheadLog, WriteAheadLog.Recovery, [WALRecord]) {
        try FileManager.default.createDirectory(
            atPath: (directory as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        var replayed: [WALRecord] = []
        let (wal, recovery) = try WriteAheadLog.open(
            directory: directory, maximumBytes: maximumBytes, policy: policy, logger: log.logger
        ) { replayed.append($0) }
        return (wal, recovery, replayed)
    }

    var segments: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasPrefix("wal-") }
            .sorted()
    }

    func path(_ name: String) -> String { directory + "/" + name }

    func bytes(_ name: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path(name)))) }

    /// Plants a file in the log's directory (made if the log has not been opened yet).
    func write(_ bytes: [UInt8], to name: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: path(name)))
    }

    /// A segment's header as `magic` (`MONDWAL1`, `MONDWAL2`) writes it, numbered from `firstRecord`;
    /// a checkpoint length only where the version has one.
    static func header(_ magic: String, firstRecord: UInt64, checkpointBytes: UInt32? = nil) -> [UInt8] {
        var header = Array(magic.utf8)
        LittleEndian.append(firstRecord, to: &header)
        if let checkpointBytes { LittleEndian.append(checkpointBytes, to: &header) }
        LittleEndian.append(CRC32C.checksum(header), to: &header)
        return header
    }

    func remove() { try? FileManager.default.removeItem(atPath: (directory as NSString).deletingLastPathComponent) }

    /// Messages logged at warning or above that mention `text`.
    func reports(_ text: String) -> [String] {
        log.messages.filter { $0.contains(text) && !$0.hasPrefix("info") && !$0.hasPrefix("notice") }
    }
}

func walRecord(_ sequence: UInt64, agent: String = "host-a", session: String = "0123456789abcdef") -> WALRecord {
    WALRecord(
        agent: agent, session: session, arrival: 1_700_000_000 + Double(sequence),
        sample: Sample(
            sequence: sequence, timestamp: 1_700_000_000 + Double(sequence), ramUsagePercent: 12.5,
            cpuUsagePercent: Double(sequence % 100), processRAMGigabytes: 0.01, cpuInterrupts: sequence * 7))
}

@Suite("Gateway write-ahead log: append, group commit, bound and recovery")
struct WALTests {
    @Test("records come back in order after a reopen, numbering goes on, each run starts its own segment")
    func roundTrip() async throws {
        let fixture = WALFixture()
        defer { fixture.remove() }
        let records = (1...50).map { walRecord($0, agent: $0 % 2 == 0 ? "even" : "odd") }
        do {
            let (wal, recovery, replayed) = try fixture.open()
            #expect(recovery.records == 0 && replayed.isEmpty)
            let last = try wal.append(Array(records[0..<20]))
            #expect(last == 20)
            try await wal.waitDurable(upTo: last)
            #expect(try wal.append(Array(records[20...])) == 50)
            await wal.close()
        }
        let (wal, recovery, replayed) = try fixture.open()
        #expect(replayed == records)
        #expect(recovery.records == 50 && recovery.damaged == 0)
        #expect(try wal.append([walRecord(51)]) == 51)
        #expect(fixture.segments == [WALFormat.segmentName(1), WALFormat.segmentName(51)])
        await wal.close()
    }

    @Test("records a killed run wrote but never synced are synced at open, before anything is promised")
    func unsyncedSegmentsSyncedAtOpen() async throws {
        let fixture = WALFixture()
        defer { fixture.remove() }
        do {
            // A periodic policy never syncs before its period: the process "dies" with the records
            // written and unsynced (no close, which would sync them).
            let (wal, _, _) = try fixture.open(policy: .every(.seconds(3600)))
            #expect(try wal.append((1...10).map { walRecord($0) }) == 10)
            #expect(wal.statistics.fsyncs == 0)
        }
        do {
            let (wal, _, _) = try fixture.open(policy: .every(.seconds(3600)))
            #expect(try wal.append((11...12).map { walRecord($0) }) == 12)
        }
        let (wal, recovery, replayed) = try fixture.open()
        #expect(replayed.count == 12 && recovery.segments == 2)
        // One fsync per segment holding records, done by the opening itself.
        #expect(wal.statistics.fsyncs == 2)
        await wal.close()
    }

    @Test("group commit: a hundred connections waiting at once share far fewer fsyncs, and all return")
    func groupCommit() async throws {
        let fixture = WALFixture()
        defer { fixture.remove() }
        let (wal, _, _) = try fixture.open()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for connection in 0..<100 {
                group.addTask {
                    for round in 0..<5 {
                        let sequence = UInt64(round + 1)
                        let last = try wal.append([walRecord(sequence, agent: "agent-\(connection)")])
                        try await wal.waitDurable(upTo: last)
                    }
                }
            }
            try await group.waitForAll()
        }
        let statistics = wal.statistics
        #expect(statistics.appendedRecords == 500)
        #expect(statistics.fsyncs >= 1 && statistics.fsyncs < 500, "\(statistics)")
        await wal.close()
    }

    @Test("a periodic policy acknowledges at once and still fsyncs within the period")
    func periodicPolicy() async throws {
        let idle = WALFixture()
        defer { idle.remove() }
        let (unsynced, _, _) = try idle.open(policy: .every(.seconds(3600)))
        try await unsynced.waitDurable(upTo: try unsynced.append([walRecord(1)]))
        #expect(unsynced.statistics.fsyncs == 0)
        await unsynced.close()

        let fixture = WALFixture()
        defer { fixture.remove() }
        let (wal, _, _) = try fixture.open(policy: .every(.milliseconds(50)))
        let runner = Task { await wal.run() }
        try await wal.waitDurable(upTo: try wal.append([walRecord(1)]))
        for _ in 0..<100 where wal.statistics.fsyncs == 0 { try await Task.sleep(for: .milliseconds(20)) }
        #expect(wal.statistics.fsyncs >= 1)
        runner.cancel()
        await wal.close()
    }

    @Test("a tail cut at every byte of the last record is cut back, reported once, and the rest replayed")
    func tornTail() async throws {
        let record = walRecord(3)
        var one: [UInt8] = []
        WALFormat.append(record, to: &one)
        for cut in 1..<one.count {
            let fixture = WALFixture()
            defer { fixture.remove() }
            do {
                let (wal, _, _) = try fixture.open()
                _ = try wal.append([walRecord(1), walRecord(2), record])
                await wal.close()
            }
            let name = WALFormat.segmentName(1)
            let full = try fixture.bytes(name)
            try fixture.write(Array(full.dropLast(cut)), to: name)
            let (wal, recovery, replayed) = try fixture.open()
            #expect(replayed == [walRecord(1), walRecord(2)], "cut \(cut)")
            #expect(recovery.damaged == 1)
            #expect(fixture.reports("torn record").count == 1, "\(fixture.log.messages)")
            await wal.close()
            let again = try fixture.open()
            #expect(again.2 == [walRecord(1), walRecord(2)] && again.1.damaged == 0)
            #expect(fixture.reports("torn record").count == 1)
            await again.0.close()
        }
    }

    @Test(
        "every single bit flipped in a segment: no trap, a damaged length cuts there, any other damage costs only its record"
    )
    func bitFlips() async throws {
        let fixture = WALFixture()
        defer { fixture.remove() }
        do {
            let (wal, _, _) = try fixture.open()
            _ = try wal.append([walRecord(1), walRecord(2)])
            await wal.close()
        }
        let name = WALFormat.segmentName(1)
        let original = try fixture.bytes(name)
        var one: [UInt8] = []
        WALFormat.append(walRecord(1), to: &one)
        for index in original.indices {
            for bit in 0..<8 {
                var bytes = original
                bytes[index] ^= 1 << bit
                let contents = try? WALSegmentReader.collect(bytes[...])
                if index < WALFormat.headerBytes {
                    #expect(contents == nil, "header byte \(index) bit \(bit)")
                    continue
                }
                let inFirst = index < WALFormat.headerBytes + one.count
                let recordStart = inFirst ? WALFormat.headerBytes : WALFormat.headerBytes + one.count
                if index < recordStart + 4 {
                    // The length: where the next record starts is unknown, so the segment is cut here.
                    #expect(contents?.records == (inFirst ? [] : [walRecord(1)]), "byte \(index) bit \(bit)")
                    #expect(contents?.validBytes == recordStart && contents?.skipped == 0)
                    #expect(
                        contents?.damage?.contains("corrupt record") == true
                            || contents?.damage?.contains("torn") == true)
                } else {
                    // The checksum or the payload: the length proves right, only this record is lost.
                    #expect(
                        contents?.records == (inFirst ? [walRecord(2)] : [walRecord(1)]), "byte \(index) bit \(bit)")
                    #expect(contents?.damage == nil && contents?.skipped == 1 && contents?.validBytes == original.count)
                    #expect(contents?.firstSkipped?.contains("offset \(recordStart)") == true)
                }
            }
        }
        // And through the log: a flipped bit in the first record's payload costs that record alone
        // (audit 5, finding 04: it took every later record of the segment), reported once, and the
        // numbering goes on after both.
        var flipped = original
        flipped[WALFormat.headerBytes + one.count - 3] ^= 0x10
        try fixture.write(flipped, to: name)
        let (wal, recovery, replayed) = try fixture.open()
        #expect(replayed == [walRecord(2)] && recovery.damaged == 1)
        #expect(fixture.reports("1 damaged records passed over").count == 1, "\(fixture.log.messages)")
        #expect(fixture.reports("checksum mismatch").count == 1, "\(fixture.log.messages)")
        #expect(try wal.append([walRecord(3)]) == 3)
        await wal.close()
        #expect(try fixture.bytes(name) == flipped, "not cut")
    }

    /// Audit 6, 04: two damaged records in a row cut the rest of the segment.
    @Test(
        "the segment being appended to, cut behind the log's back: the lost records named once to the forwarder, said once, and later appends go to a new segment that reads back (audit 12, F01/F04)"
    )
    func activeSegmentCutWhileForwarding() async throws {
        let fixture = WALFixture()
        defer { fixture.remove() }
        let (wal, _, _) = try fixture.open()
        let lost = Mutex<[ClosedRange<UInt64>]>([])
        wal.onRecordsLost = { records in lost.withLock { $0.append(records) } }
        for sequence in 1...100 { _ = try wal.append([walRecord(UInt64(sequence))]) }
        let segment = try #require(fixture.segments.last)
        let size = try fixture.bytes(segment).count
        #expect(truncate(fixture.path(segment), off_t(size - size / 3)) == 0)

        let (read, position) = try readToEnd(wal, through: 100, limit: 7)
        #expect(position == 100)
        let lostCount = lost.withLock { $0.reduce(0) { $0 + $1.count } }
        #expect(read.count < 100 && read.count + lostCount == 100, "\(read.count) read, \(lostCount) reported lost")
        #expect(read.map(\.sample.sequence) == (1...UInt64(read.count)).map { $0 }, "the records before the cut")
        // Read again and again (as every flush does): said once.
        for _ in 0..<20 { _ = try wal.records(after: UInt64(read.count), limit: 7) }
        #expect(fixture.reports("passed over").count == 1, "\(fixture.reports("passed over"))")

        // New records go to a new segment and read back whole.
        for sequence in 101...110 { _ = try wal.append([walRecord(UInt64(sequence))]) }
        #expect(fixture.segments.count == 2)
        let after = try wal.records(after: 100, limit: 100)
        #expect(after.records.map(\.sample.sequence) == Array(101...110) && after.through == 110)
        #expect(lost.withLock { $0.allSatisfy { $0.upperBound <= 100 } }, "nothing after the cut reported lost")
        await wal.close()
    }

    @Test(
        "widened losses (acknowledge = forwarded): a damaged record takes every record appended until then along, in one report, and connections older than the loss append nothing after it (audit 12, F02)"
    )
    func widenedLossPassesOverWhatFollows() async throws {
        let fixture = WALFixture()
        defer { fixture.remove() }
        let (wal, _, _) = try fixture.open()
        wal.widenLossesToLastAppended()
        let lost = Mutex<[ClosedRange<UInt64>]>([])
        wal.onRecordsLost = { records in lost.withLock { $0.append(records) } }
        for sequence in 1...100 { _ = try wal.append([walRecord(UInt64(sequence))]) }
        let before = wal.losses
        #expect(before == 0)
        // A bit flipped in the payload of record 41 (its length intact): before, only it was passed over.
        let segment = try #require(fixture.segments.last)
        var bytes = try fixture.bytes(segment)
        var first: [UInt8] = []
        var last: [UInt8] = []
        WALFormat.append(walRecord(1), to: &first)
        WALFormat.append(walRecord(100), to: &last)
        #expect(first.count == last.count, "records of one size")
        bytes[bytes.count - 59 * first.count - 3] ^= 0x10
        try fixture.write(bytes, to: segment)

        let (read, position) = try readToEnd(wal, through: 100, limit: 7)
        #expect(position == 100)
        #expect(read.map(\.sample.sequence) == Array(1...40), "the records before the damaged one, none after it")
        #expect(lost.withLock { $0 } == [41...100])
        #expect(wal.losses == 1)

        // A connection that started before the loss: refused, nothing written; one that started after: logged.
        #expect(try wal.append([walRecord(101)], unlessLossesAfter: before) == nil)
        #expect(try wal.append([walRecord(101)], unlessLossesAfter: wal.losses) == 101)
        #expect(try wal.append([walRecord(102)]) == 102)
        let after = try wal.records(after: 100, limit: 100)
        #expect(after.records.map(\.sample.sequence) == [101, 102] && after.through == 102)
        #expect(lost.withLock { $0.count } == 1, "nothing more reported")
        await wal.close()
    }

    @Test(
        "a segment deleted behind the log's back while forwarding: its records are passed over and reported, the reader goes on with the next segment (audit 14, F01: it retried for ever)",
        arguments: [false, true])
    func deletedSegmentIsPassedOver(widened: Bool) async throws {
        let fixture = WALFixture()
        defer { fixture.remove() }
        let (wal, _, _) = try fixture.open()
        if widened { wal.widenLossesToLastAppended() }
        let lost = Mutex<[ClosedRange<UInt64>]>([])
        wal.onRecordsLost = { records in lost.withLock { $0.append(records) } }
        var total: UInt64 = 0
        while fixture.segments.count < 3 {
            total += 1
            _ = try wal.append([walRecord(total)])
        }
        let middle = fixture.segments.sorted()[1]
        let middleFirst = try #require(UInt64(middle.filter(\.isNumber)))
        let lastFirst = try #require(UInt64(fixture.segments.sorted()[2].filter(\.isNumber)))
        #expect(unlink(fixture.path(middle)) == 0)

        let (records, position) = try readToEnd(wal, through: total, limit: 100)
        let read = records.map(\.sample.sequence)
        #expect(position == total)
        if widened {
            #expect(read == Array(1..<middleFirst))
            #expect(lost.withLock { $0 } == [middleFirst...total])
        } else {
            #expect(read == Array(1..<middleFirst) + Array(lastFirst...total))
            #expect(lost.withLock { $0 } == [middleFirst...(lastFirst - 1)])
        }
        #expect(fixture.reports("passed over").count == 1, "\(fixture.log.messages)")
        await wal.close()
    }

    @Test("damaged records in a row whose lengths prove right are passed over together, numbered on")
    func damagedRecordsInARow() throws {
        var segment = WALFormat.header(firstRecord: 1)
        var starts: [Int] = []
        for n in 1...6 as ClosedRange<UInt64> {
            starts.append(segment.count)
            WALFormat.append(walRecord(n), to: &segment)
        }
        for record in [1, 2, 3] { segment[starts[record] + 12] ^= 0x20 }
        let contents = try WALSegmentReader.collect(segment[...])
        #expect(contents.records == [walRecord(1), walRecord(5), walRecord(6)])
        #expect(contents.damage == nil && contents.skipped == 3 && contents.validBytes == segment.count)
        #expect(contents.firstSkipped?.contains("offset \(starts[1])") == true, "\(contents)")
    }

    @Test(
        "a length field of any size is believed only within a record's sizes",
        arguments: [UInt32.max, 1 << 31, 0, 67, 188, 65536])
    func hugeLength(length: UInt32) throws {
        var bytes = WALFormat.header(firstRecord: 1)
        var record: [UInt8] = []
        WALFormat.append(walRecord(1), to: &record)
        withUnsafeBytes(of: length.littleEndian) { record.replaceSubrange(0..<4, with: $0) }
        bytes += record
        let contents = try WALSegmentReader.collect(bytes[...])
        #expect(contents.records.isEmpty && contents.validBytes == WALFormat.headerBytes)
        #expect(contents.damage?.contains("payload length \(length), outside 68...187") == true, "\(contents)")
    }

    @Test("every sequence number the protocol accepts reads back, up to 2^64-1 (the audit's cut log)")
    func wholeProtocolRangeReadsBack() async throws {
        let fixture = WALFixture()
        defer { fixture.remove() }
        var records = [walRecord(1, agent: "before")]
        for sequence: UInt64 in [1 << 63, (1 << 63) + 1, UInt64.max] {
            var record = walRecord(1, agent: "attacker")
            record.sample.sequence = sequence
            record.sample.cpuInterrupts = 1 << 63
            records.append(record)
        }
        records.append(walRecord(5, agent: "after"))
        do {
            let (wal, _, _) = try fixture.open()
            _ = try wal.append(records)
            await wal.close()
        }
        let (wal, recovery, replayed) = try fixture.open()
        #expect(replayed == records)
        #expect(recovery.damaged == 0, "\(fixture.log.messages)")
        await wal.close()
    }

    @Test("a record that passes its checksum but holds what no agent could send is passed over, not cut")
    func checksummedNonsense() async throws {
        var bad = walRecord(1)
        bad.agent = "bad name"
        var record: [UInt8] = []
        // Encoded by hand around the precondition: the checksum is right, the name is not.
        var payload: [UInt8] = [1]
        withUnsafeBytes(of: bad.arrival.bitPattern.littleEndian) { payload += $0 }
        payload += [UInt8(bad.agent.utf8.count)] + Array(bad.agent.utf8)
        payload += [16] + Array(bad.session.utf8)
        for value in [1, 1, 1, 1, 1, 1] as [UInt64] { withUnsafeBytes(of: value.littleEndian) { payload += $0 } }
        ChecksummedRecord.append(payload, to: &record)
        var segment = WALFormat.header(firstRecord: 1)
        WALFormat.append(walRecord(1), to: &segment)
        segment += record
        WALFormat.append(walRecord(3, agent: "other"), to: &segment)
        let contents = try WALSegmentReader.collect(segment[...])
        #expect(contents.records == [walRecord(1), walRecord(3, agent: "other")])
        #expect(contents.damage == nil && contents.validBytes == segment.count)
        #expect(contents.skipped == 1)
        #expect(contents.firstSkipped?.contains("agent name has characters not allowed") == true, "\(contents)")
        // Through the log: the records after it survive, the file is not cut, the numbering goes on after it.
        let fixture = WALFixture()
        defer { fixture.remove() }
        try fixture.write(segment, to: WALFormat.segmentName(1))
        do {
            let (wal, recovery, replayed) = try fixture.open()
            #expect(replayed == [walRecord(1), walRecord(3, agent: "other")] && recovery.damaged == 1)
            #expect(fixture.reports("1 damaged records passed over").count == 1)
            #expect(try wal.append([walRecord(4)]) == 4)
            await wal.close()
        }
        #expect(try fixture.bytes(WALFormat.segmentName(1)) == segment)
        #expect(fixture.segments == [WALFormat.segmentName(1), WALFormat.segmentName(4)])
        for payload in [[UInt8](), [2], [1, 0, 0]] + (0..<64).map({ [UInt8](repeating: UInt8($0), count: 100) }) {
            // Never a trap, whatever the payload.
            _ = WALSegmentReader.decode(payload[...])
        }
    }

    @Test("a FIFO, a directory and a link in place of segments: reported, left alone, the log opens without hanging")
    func notRegularFiles() async throws {
        let fixture = WALFixture()
        defer { fixture.remove() }
        do {
            let (wal, _, _) = try fixture.open()
            _ = try wal.append([walRecord(1)])
            await wal.close()
        }
        #expect(mkfifo(fixture.path(WALFormat.segmentName(1000)), 0o600) == 0)
        try FileManager.default.createDirectory(
            atPath: fixture.path(WALFormat.segmentName(2000)), withIntermediateDirectories: false)
        #expect(symlink("/etc/passwd", fixture.path(WALFormat.segmentName(3000))) == 0)
        let (wal, recovery, replayed) = try fixture.open()
        #expect(replayed == [walRecord(1)])
        #expect(recovery.damaged == 3)
        #expect(fixture.reports("left alone").count == 3, "\(fixture.log.messages)")
        #expect(try wal.append([walRecord(2)]) >= 2)
        await wal.close()
    }

    @Test(
        "a segment missing from the middle: reported once with its record range, counted as damage, not promised (audit 8/03)"
    )
    func segmentMissingFromTheMiddle() async throws {
        let fixture = WALFixture()
        defer { fixture.remove() }
        // Six runs of ten records: six segments, numbered from 1, 11, ... 51.
        for run in UInt64(0)..<6 {
            let (wal, _, _) = try fixture.open()
            _ = try wal.append((1...10).map { walRecord(run * 10 + $0) })
            await wal.close()
        }
        #expect(fixture.segments.count == 6)
        try FileManager.default.removeItem(atPath: fixture.path(WALFormat.segmentName(21)))
        let (wal, recovery, replayed) = try fixture.open()
        #expect(replayed.count == 50)
        #expect(recovery.damaged == 1)
        #expect(recovery.missingRecords == 10)
        let reports = fixture.reports("records 21...30 are missing")
        #expect(reports.count == 1 && reports.allSatisfy { $0.hasPrefix("error") }, "\(fixture.log.messages)")
        // What is left to forward is what the segments hold, not the numbering's span.
        #expect(wal.lastAppended == 60)
        #expect(wal.recordsHeld(after: 0) == 50)
        #expect(wal.recordsHeld(after: 15) == 35)
        #expect(wal.recordsHeld(after: 25) == 30)
        #expect(wal.recordsHeld(after: 60) == 0)
        await wal.close()
        // A second open reports it again (the range is still missing) but nothing new.
        let (again, recoveredAgain, _) = try fixture.open()
        #expect(recoveredAgain.damaged == 1 && recoveredAgain.missingRecords == 10)
        await again.close()
    }

    @Test("segments deleted from the front (the bound) are no gap: nothing reported")
    func oldestSegmentsMissingAreNoGap() async throws {
        let fixture = WALFixture()
        defer { fixture.remove() }
        for run in UInt64(0)..<3 {
            let (wal, _, _) = try fixture.open()
            _ = try wal.append((1...10).map { walRecord(run * 10 + $0) })
            await wal.close()
        }
        try FileManager.default.removeItem(atPath: fixture.path(WALFormat.segmentName(1)))
        let (wal, recovery, _) = try fixture.open()
        #expect(recovery.damaged == 0 && recovery.missingRecords == 0)
        #expect(fixture.reports("missing").isEmpty, "\(fixture.log.messages)")
        #expect(wal.recordsHeld(after: 0) == 20)
        await wal.close()
    }

    @Test("a directory at the next segment's name or at its temporary name does not stop the start (audit 3/08)")
    func directoryAtTheNextSegmentName() async throws {
        let fixture = WALFixture()
        defer { fixture.remove() }
        do {
            let (wal, _, _) = try fixture.open()
            _ = try wal.append([walRecord(1), walRecord(2), walRecord(3)])
            await wal.close()
        }
        // The next run would start segment 4: a directory takes that name.
        try FileManager.default.createDirectory(
            atPath: fixture.path(WALFormat.segmentName(4)), withIntermediateDirectories: false)
        let (wal, _, replayed) = try fixture.open()
        #expect(replayed == [walRecord(1), walRecord(2), walRecord(3)])
        #expect(try wal.append([walRecord(4)]) == 5, "the numbering goes on after the name taken")
        await wal.close()
        let (reopened, _, all) = try fixture.open()
        #expect(all.count == 4)
        await reopened.close()
        // A directory where the next rotation writes its temporary file: the log opens, and says why.
        try FileManager.default.createDirectory(
            atPath: fixture.path(WALFormat.segmentName(6) + ".tmp"), withIntermediateDirectories: false)
        let (again, _, _) = try fixture.open()
        #expect(fixture.reports("left alone").count >= 2, "\(fixture.log.messages)")
        await again.close()
    }

    @Test("a segment whose header is not one is reported and deleted; random files never trap the reader")
    func garbageSegments() async throws {
        let fixture = WALFixture()
        defer { fixture.remove() }
        await (try fixture.open()).0.close()
        try fixture.write(Array("MONSPOOL not a log".utf8), to: WALFormat.segmentName(7))
        var header = WALFormat.header(firstRecord: 8)
        try fixture.write(header, to: WALFormat.segmentName(9))  // named after another number
        header[9] ^= 1
        try fixture.write(header, to: WALFormat.segmentName(10))  // checksum broken
        let (wal, recovery, _) = try fixture.open()
        #expect(recovery.damaged == 3)
        #expect(fixture.reports("file deleted").count == 3, "\(fixture.log.messages)")
        await wal.close()
        var generator = SystemRandomNumberGenerator()
        for size in [0, 1, 19, 20, 21, 100, 5000] {
            for _ in 0..<50 {
                var bytes = (0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) }
                if size > WALFormat.headerBytes, Bool.random() {
                    bytes.replaceSubrange(0..<WALFormat.headerBytes, with: WALFormat.header(firstRecord: 1))
                }
                _ = try? WALSegmentReader.collect(bytes[...])
            }
        }
    }

    @Test("beyond wal-max-size the oldest segments go, counted and logged, and the log stays within it")
    func bound() async throws {
        let fixture = WALFixture()
        defer { fixture.remove() }
        let maximum = 1 << 20
        let (wal, _, _) = try fixture.open(maximumBytes: maximum, policy: .every(.seconds(60)))
        var sequence: UInt64 = 0
        for _ in 0..<300 {
            let batch = (0..<100).map { _ in
                sequence += 1
                return walRecord(sequence)
            }
            _ = try wal.append(batch)
            #expect(wal.statistics.bytes <= maximum)
        }
        let statistics = wal.statistics
        #expect(statistics.droppedRecords > 0)
        #expect(fixture.reports("over wal-max-size").count > 0)
        await wal.close()
        let (reopened, recovery, replayed) = try fixture.open(maximumBytes: maximum)
        #expect(UInt64(recovery.records) + statistics.droppedRecords == 30_000)
        #expect(replayed.last == walRecord(30_000))
        #expect(replayed.map(\.sample.sequence) == Array(replayed.first!.sample.sequence...30_000))
        await reopened.close()
    }

    @Test(
        "acknowledge = forwarded: wal-max-size never deletes unconfirmed records, appends are refused for now instead")
    func boundKeepsUnconfirmedRecords() async throws {
        // Audit 11, finding 02: with the receiver down, the bound deleted records the receiver had
        // never confirmed, and `forwarded` then acknowledged them as given up for good: 12,732 of
        // 36,182 acknowledged samples never arrived.
        let fixture = WALFixture()
        defer { fixture.remove() }
        let maximum = 1 << 20
        let (wal, _, _) = try fixture.open(maximumBytes: maximum, policy: .every(.seconds(60)))
        wal.keepUnconfirmed(after: 0)
        var sequence: UInt64 = 0
        var refused: FileOperationError?
        while refused == nil, sequence < 100_000 {
            let batch = (0..<100).map { index in walRecord(sequence + UInt64(index) + 1) }
            do throws(FileOperationError) {
                _ = try wal.append(batch)
                sequence += 100
            } catch {
                refused = error
            }
        }
        let full = try #require(refused, "the bound deleted unconfirmed records instead of refusing")
        #expect(full.description.contains("not confirmed"), "\(full)")
        // Refused for now, not for good: the connection waits for room (audit 17, B).
        #expect(full.isFull)
        // Every waiting connection tries again after each confirmation: said once, not at each try (audit 17, E).
        let next = (1...100).map { walRecord(sequence + $0) }
        for _ in 0..<5 { #expect(throws: FileOperationError.self) { try wal.append(next) } }
        #expect(fixture.reports("is full of samples").count == 1, "\(fixture.log.messages)")
        #expect(wal.statistics.droppedRecords == 0)
        #expect(wal.statistics.bytes <= maximum)

        // A confirmation that moves nothing is no reason to try again; one that makes room is.
        let before = wal.confirmations
        wal.confirmed(upTo: 0)
        #expect(wal.confirmations == before)
        // Confirmed: the oldest segments may go, and appends go on.
        wal.confirmed(upTo: sequence)
        #expect(wal.confirmations == before + 1)
        _ = try wal.append((1...100).map { walRecord(sequence + $0) })
        #expect(wal.statistics.droppedRecords > 0)
        await wal.close()
        let (reopened, recovery, replayed) = try fixture.open(maximumBytes: maximum)
        #expect(UInt64(recovery.records) + wal.statistics.droppedRecords == sequence + 100)
        #expect(replayed.last == walRecord(sequence + 100))
        await reopened.close()
    }

    @Test(
        "acknowledge = forwarded (no ack waits for the disk): segments rotated away and deleted by the bound do not stay open (audit 22, F1)"
    )
    func rotatedSegmentsAreClosedWithoutWaiters() async throws {
        let fixture = WALFixture()
        defer { fixture.remove() }
        let (wal, _, _) = try fixture.open(maximumBytes: 1 << 20, policy: .always)
        let runner = Task { await wal.run() }
        defer { runner.cancel() }
        wal.keepUnconfirmed(after: 0)
        // About 40 segments' worth, each confirmed as it goes (the receiver keeps up).
        var sequence: UInt64 = 0
        for _ in 0..<300 {
            let batch = (1...100).map { walRecord(sequence + $0) }
            sequence += 100
            _ = try wal.append(batch)
            wal.confirmed(upTo: sequence)
        }
        #expect(wal.statistics.droppedRecords > 0, "the bound deleted nothing: the test proves nothing")
        func openSegments() -> Int {
            let descriptors = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd")) ?? []
            return descriptors.filter { entry in
                let target =
                    (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/\(entry)")) ?? ""
                return target.hasPrefix(fixture.directory + "/wal-")
            }.count
        }
        // The sync runs each second; the suite's other tests may keep the pool's threads busy meanwhile.
        let end = Date().addingTimeInterval(20)
        while openSegments() > 1, Date() < end { try await Task.sleep(for: .milliseconds(100)) }
        #expect(openSegments() <= 1, "\(openSegments()) segments open, the active one alone expected")
        await wal.close()
    }

    @Test(
        "a full disk (a 256 KiB tmpfs): the failed append is refused and cut back, the log writes again once space returns",
        .enabled(if: geteuid() == 0, "mounting a tmpfs needs root"))
    func fullDisk() async throws {
        let mountPoint = try makeTemporaryDirectory("wal-full")
        func run(_ arguments: [String]) throws -> Int32 {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/" + arguments[0])
            process.arguments = Array(arguments.dropFirst())
            try process.run()
            process.waitUntilExit()
            return process.terminationStatus
        }
        try #require(try run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", mountPoint]) == 0)
        defer {
            _ = try? run(["umount", mountPoint])
            try? FileManager.default.removeItem(atPath: mountPoint)
        }
        let fixture = WALFixture(directory: mountPoint + "/wal")
        let ballast = mountPoint + "/ballast"
        try Data(count: 150 << 10).write(to: URL(fileURLWithPath: ballast))
        var (wal, _, _) = try fixture.open(maximumBytes: 1 << 20)
        var accepted: [WALRecord] = []
        var failure: (any Error)?
        var sequence: UInt64 = 0
        while failure == nil, sequence < 100_000 {
            let batch = (0..<50).map { _ in
                sequence += 1
                return walRecord(sequence)
            }
            do {
                let last = try wal.append(batch)
                try await wal.waitDurable(upTo: last)
                accepted += batch
            } catch {
                failure = error
            }
        }
        #expect("\(failure.map { "\($0)" } ?? "none")".contains("No space left on device"))
        #expect(fixture.reports("No space left on device").count == 1)
        // A restart on the full disk (the audit's restart loop): the log opens, replays everything
        // acknowledged, and refuses appends until space returns. The filler takes the last pages.
        await wal.close()
        _ = try run(["dd", "if=/dev/zero", "of=\(mountPoint)/filler", "bs=4k", "status=none"])
        let (restarted, _, replayedWhileFull) = try fixture.open(maximumBytes: 1 << 20)
        #expect(replayedWhileFull == accepted)
        #expect(fixture.reports("cannot start a new segment").count == 1, "\(fixture.log.messages)")
        #expect(throws: (any Error).self) { try restarted.append([walRecord(sequence + 1)]) }
        try FileManager.default.removeItem(atPath: ballast)
        try FileManager.default.removeItem(atPath: mountPoint + "/filler")
        wal = restarted
        let last = try wal.append([walRecord(sequence + 1)])
        try await wal.waitDurable(upTo: last)
        accepted.append(walRecord(sequence + 1))
        #expect(fixture.log.messages.contains { $0.contains("writing again") })
        await wal.close()
        let (reopened, recovery, replayed) = try fixture.open(maximumBytes: 1 << 20)
        #expect(replayed == accepted, "no partial batch was left behind")
        #expect(recovery.damaged == 0)
        await reopened.close()
    }
}

extension WALFormat {
    /// A segment's header with an empty checkpoint (the first segment of a new log has one).
    static func header(firstRecord: UInt64) -> [UInt8] {
        start(firstRecord: firstRecord, checkpoint: LogCheckpoint()).bytes
    }
}

extension WALSegmentReader {
    /// What a segment holds, with its records collected (the reader hands them over one at a time).
    struct Collected: Equatable {
        var contents: WALSegmentContents
        var records: [WALRecord]
        var damage: String? { contents.damage }
        var validBytes: Int { contents.validBytes }
        var skipped: Int { contents.skipped }
        var firstSkipped: String? { contents.firstSkipped }
    }

    static func collect(_ bytes: ArraySlice<UInt8>) throws(HeaderError) -> Collected {
        var records: [WALRecord] = []
        let contents = try read(bytes) { record, _ in records.append(record) }
        return Collected(contents: contents, records: records)
    }
}

/// What remote write would read of `wal`, batch by batch of `limit`, until its position reaches
/// `last` (or 10,000 reads went by): the records handed out and the position reached.
func readToEnd(_ wal: WriteAheadLog, through last: UInt64, limit: Int) throws -> (
    records: [WALRecord], position: UInt64
) {
    var records: [WALRecord] = []
    var position: UInt64 = 0
    for _ in 0..<10_000 where position < last {
        let batch = try wal.records(after: position, limit: limit)
        records += batch.records
        position = batch.through
    }
    return (records, position)
}
