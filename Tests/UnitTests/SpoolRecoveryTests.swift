import Foundation
import Logging
import Synchronization
import TestSupport
import Testing

@testable import AgentSpool
@testable import MonitorConfig

/// Keeps what the spool logs, so that tests can check a problem is reported once, with file and offset.
final class LogCapture: Sendable {
    private let lines = Mutex<[String]>([])

    var messages: [String] { lines.withLock { $0 } }

    var logger: Logger {
        Logger(label: "spool-test") { _ in Handler(capture: self) }
    }

    private struct Handler: LogHandler {
        let capture: LogCapture
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            capture.lines.withLock { $0.append("\(event.level) \(event.message)") }
        }
    }
}

/// A spool in a fresh temporary directory.
struct SpoolFixture {
    let directory = temporaryPath("spool-test") + "/spool"
    let log = LogCapture()

    func open(
        maximumBytes: Int = 64 << 20, fsync: SpoolFsyncPolicy = .never, keep: Int = 100_000,
        session: String = spoolSession
    ) throws -> (SampleSpool, SampleSpool.Recovery) {
        try FileManager.default.createDirectory(
            atPath: (directory as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        return try SampleSpool.open(
            directory: directory, maximumBytes: maximumBytes, fsyncPolicy: fsync, keep: keep, logger: log.logger,
            newSession: { session })
    }

    /// A run of the agent that appended the samples numbered `sequences` and closed its spool.
    func run(appending sequences: ClosedRange<UInt64>) throws {
        let (spool, _) = try open()
        for sequence in sequences { spool.append(spoolSample(sequence)) }
        spool.close()
    }

    var files: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    }

    var segments: [String] { files.filter { $0.hasPrefix("seg-") } }

    func path(_ name: String) -> String { directory + "/" + name }

    func size(_ name: String) throws -> Int {
        try (FileManager.default.attributesOfItem(atPath: path(name))[.size] as? Int) ?? -1
    }

    func truncate(_ name: String, to size: Int) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path(name)))
        try handle.truncate(atOffset: UInt64(size))
        try handle.close()
    }

    func remove() { try? FileManager.default.removeItem(atPath: (directory as NSString).deletingLastPathComponent) }
}

@Suite("Spool on disk: append, acknowledge, bounds and recovery")
struct SpoolRecoveryTests {
    let recordBytes = SpoolFormat.sampleRecordBytes

    @Test("an empty directory starts a new session; a reopened spool resumes it and replays the unacknowledged")
    func appendReopenReplay() throws {
        let fixture = SpoolFixture()
        defer { fixture.remove() }
        do {
            let (spool, recovery) = try fixture.open(fsync: .always)
            #expect(!recovery.resumed && recovery.session == spoolSession && recovery.highestSequence == 0)
            for sequence in 1...10 { spool.append(spoolSample(UInt64(sequence))) }
            spool.acknowledge(upTo: 4)
            spool.close()
        }
        let (_, recovery) = try fixture.open(session: "ffffffffffffffff")
        #expect(recovery.resumed)
        #expect(recovery.session == spoolSession)
        #expect(recovery.acknowledged == 4)
        #expect(recovery.highestSequence == 10)
        #expect(recovery.unacknowledged == (5...10).map { spoolSample(UInt64($0)) })
        #expect(recovery.notKept == 0)
        #expect(fixture.log.messages.allSatisfy { !$0.hasPrefix("warning") && !$0.hasPrefix("error") })
        #expect(
            try String(contentsOfFile: fixture.path("acked"), encoding: .utf8) == "\(spoolSession) 4\n")
    }

    @Test("a spool that was never closed (the process was killed) loses nothing that was appended")
    func killedWithoutClose() throws {
        let fixture = SpoolFixture()
        defer { fixture.remove() }
        var spool: SampleSpool? = try fixture.open().0
        for sequence in 1...7 { spool!.append(spoolSample(UInt64(sequence))) }
        // What kill -9 leaves: the kernel has every write(2); only the process is gone.
        let copy = fixture.directory + ".copy"
        try FileManager.default.copyItem(atPath: fixture.directory, toPath: copy)
        spool = nil
        try FileManager.default.removeItem(atPath: fixture.directory)
        try FileManager.default.moveItem(atPath: copy, toPath: fixture.directory)
        let recovery = try fixture.open().1
        #expect(recovery.unacknowledged.map(\.sequence) == Array(1...7))
    }

    @Test("a tail torn at every byte offset of the last record: reported once with file and offset, truncated")
    func tornTailAtEveryOffset() throws {
        for cut in 1..<recordBytes {
            let fixture = SpoolFixture()
            defer { fixture.remove() }
            try fixture.run(appending: 1...5)
            let segment = try #require(fixture.segments.first)
            let full = try fixture.size(segment)
            try fixture.truncate(segment, to: full - cut)
            let (spool, recovery) = try fixture.open()
            #expect(recovery.unacknowledged.map(\.sequence) == [1, 2, 3, 4], "cut \(cut)")
            #expect(recovery.highestSequence == 4, "cut \(cut)")
            let offset = full - recordBytes
            let warnings = fixture.log.messages.filter { $0.hasPrefix("warning") }
            #expect(
                warnings == [
                    "warning spool: \(fixture.path(segment)): torn record at offset \(offset) (the file ends inside it); truncated there, \(recordBytes - cut) bytes discarded"
                ], "cut \(cut)")
            #expect(try fixture.size(segment) == offset, "cut \(cut)")
            spool.append(spoolSample(5))
            spool.close()
            // Reported once: the next start finds nothing wrong, and the new sample 5 is there.
            let again = try fixture.open().1
            #expect(again.unacknowledged.map(\.sequence) == [1, 2, 3, 4, 5], "cut \(cut)")
            #expect(fixture.log.messages.filter { $0.hasPrefix("warning") }.count == 1, "cut \(cut)")
        }
    }

    @Test("a corrupt checksum in the middle of an older segment loses only that record")
    func corruptMiddleSegment() throws {
        let fixture = SpoolFixture()
        defer { fixture.remove() }
        let perSegment: Int
        do {
            // 64 KiB bound: 4 KiB segments, 71 records each.
            let (spool, _) = try fixture.open(maximumBytes: 64 << 10)
            perSegment =
                (spool.segmentBytes - SpoolFormat.header(session: spoolSession, firstSequence: 1).count)
                / recordBytes
            for sequence in 1...200 { spool.append(spoolSample(UInt64(sequence))) }
            spool.close()
        }
        let segments = fixture.segments
        #expect(segments.count == 3)
        let headerBytes = SpoolFormat.header(session: spoolSession, firstSequence: 1).count
        let offset = headerBytes + 10 * recordBytes
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: fixture.path(segments[0])))
        try handle.seek(toOffset: UInt64(offset + 30))
        try handle.write(contentsOf: Data([0xFF, 0xFF]))
        try handle.close()
        let recovery = try fixture.open(maximumBytes: 64 << 10).1
        // Record 11 is lost, and only it (audit 5, finding 04b: the rest of its segment went too).
        #expect(perSegment > 11)
        let expected = Array(1...10) + Array(12...200)
        #expect(recovery.unacknowledged.map(\.sequence) == expected.map(UInt64.init))
        #expect(recovery.highestSequence == 200)
        #expect(
            fixture.log.messages.contains {
                $0.contains(
                    "\(segments[0]): 1 damaged records passed over (the records after them are intact), the first corrupt record at offset \(offset): checksum mismatch"
                )
            }, "\(fixture.log.messages)")
    }

    @Test("over the byte bound, the oldest segments are deleted and their undelivered samples counted")
    func byteBoundDropsOldest() throws {
        let fixture = SpoolFixture()
        defer { fixture.remove() }
        let bound = 64 << 10
        let spool = try fixture.open(maximumBytes: bound).0
        for sequence in 1...3000 {
            spool.append(spoolSample(UInt64(sequence)))
            #expect(spool.totalBytes <= bound)
        }
        #expect(spool.droppedCount > 0)
        let onDisk = try fixture.segments.reduce(0) { $0 + (try fixture.size($1)) }
        #expect(onDisk == spool.totalBytes && onDisk <= bound)
        #expect(fixture.log.messages.contains { $0.contains("over spool-max-size (64KiB), deleted seg-") })
        spool.close()
        let recovery = try fixture.open(maximumBytes: bound).1
        // What survives is the newest history, without gaps, and what is gone is counted.
        let kept = recovery.unacknowledged.map(\.sequence)
        #expect(kept.last == 3000)
        #expect(kept == Array((3001 - UInt64(kept.count))...3000))
        #expect(UInt64(kept.count) + spool.droppedCount == 3000)
    }

    @Test("acknowledged segments are deleted whole; the newest stays for appending")
    func acknowledgementDeletesSegments() throws {
        let fixture = SpoolFixture()
        defer { fixture.remove() }
        let spool = try fixture.open(maximumBytes: 64 << 10).0
        for sequence in 1...300 { spool.append(spoolSample(UInt64(sequence))) }
        let before = fixture.segments
        #expect(before.count == 5)
        spool.acknowledge(upTo: 150)
        // 70 records per 4 KiB segment: they start at 1, 71, 141, 211, 281; only the first two end at or below 150.
        #expect(fixture.segments == Array(before.dropFirst(2)))
        spool.acknowledge(upTo: 300)
        #expect(fixture.segments == [before.last!])
        #expect(spool.segmentCount == 1)
        spool.append(spoolSample(301))
        spool.close()
        let recovery = try fixture.open(maximumBytes: 64 << 10).1
        #expect(recovery.acknowledged == 300)
        #expect(recovery.unacknowledged.map(\.sequence) == [301])
    }

    @Test("a crash mid-rotation (a header left as .tmp, or an empty new segment) is cleaned up on start")
    func crashMidRotation() throws {
        let fixture = SpoolFixture()
        defer { fixture.remove() }
        try fixture.run(appending: 1...9)
        // The crash came after the new header was renamed into place (an empty segment for 10),
        // and a later one while a header was still a temporary file.
        let header = SpoolFormat.header(session: spoolSession, firstSequence: 10)
        try Data(header).write(to: URL(fileURLWithPath: fixture.path(SampleSpool.segmentName(10))))
        try Data(header.prefix(7)).write(
            to: URL(fileURLWithPath: fixture.path(SampleSpool.segmentName(11) + ".tmp")))
        let (spool, recovery) = try fixture.open()
        #expect(recovery.unacknowledged.map(\.sequence) == Array(1...9))
        #expect(recovery.highestSequence == 9)
        #expect(!fixture.files.contains { $0.hasSuffix(".tmp") })
        spool.append(spoolSample(10))
        spool.close()
        #expect(try fixture.open().1.unacknowledged.map(\.sequence) == Array(1...10))
        #expect(fixture.log.messages.allSatisfy { !$0.hasPrefix("warning") })
    }

    @Test("a segment whose header is torn is reported and deleted; a segment of another session too")
    func unusableSegments() throws {
        let fixture = SpoolFixture()
        defer { fixture.remove() }
        do {
            let (spool, _) = try fixture.open()
            spool.close()
        }
        try Data(spoolSegment(5...7)).write(to: URL(fileURLWithPath: fixture.path(SampleSpool.segmentName(5))))
        let torn = SampleSpool.segmentName(100)
        try Data(SpoolFormat.header(session: spoolSession, firstSequence: 100).prefix(30)).write(
            to: URL(fileURLWithPath: fixture.path(torn)))
        // Sorts first (segments are named after their first sequence), so the spool's session stays the newest's.
        let foreign = SampleSpool.segmentName(1)
        try Data(spoolSegment(1...2, session: "abcdefabcdefabcd")).write(
            to: URL(fileURLWithPath: fixture.path(foreign)))
        let recovery = try fixture.open().1
        #expect(recovery.session == spoolSession)
        #expect(recovery.unacknowledged.map(\.sequence) == [5, 6, 7])
        #expect(!fixture.segments.contains(torn) && !fixture.segments.contains(foreign))
        let warnings = fixture.log.messages.filter { $0.hasPrefix("warning") }
        #expect(warnings.count == 2)
        #expect(warnings.contains { $0.contains("\(torn): shorter than its header; file deleted") })
        #expect(warnings.contains { $0.contains("belongs to session abcdefabcdefabcd") })
    }

    @Test("at most `keep` samples are handed over; the older ones are counted")
    func keepBound() throws {
        let fixture = SpoolFixture()
        defer { fixture.remove() }
        try fixture.run(appending: 1...1000)
        let recovery = try fixture.open(keep: 7).1
        #expect(recovery.unacknowledged.map(\.sequence) == Array(994...1000))
        #expect(recovery.notKept == 993)
    }

    @Test("an acknowledgement above the spool's numbering (a tail lost to power loss) moves the numbering on")
    func acknowledgementAboveHighest() throws {
        let fixture = SpoolFixture()
        defer { fixture.remove() }
        do {
            let (spool, _) = try fixture.open()
            for sequence in 1...3 { spool.append(spoolSample(UInt64(sequence))) }
            spool.acknowledge(upTo: 8)
            #expect(spool.highestSequence == 8)
            spool.close()
        }
        let (spool, recovery) = try fixture.open()
        #expect(recovery.highestSequence == 8 && recovery.unacknowledged.isEmpty)
        spool.append(spoolSample(9))
        spool.close()
        #expect(try fixture.open().1.unacknowledged.map(\.sequence) == [9])
    }

    /// Audit 7, 04: one digit of damage in `acked` (18 -> 99) discarded the 20 samples never delivered.
    @Test(
        "with spool-fsync = always, a watermark above what the segments hold is damage: everything is replayed",
        arguments: [99, 1 << 63] as [UInt64])
    func watermarkAboveTheSegmentsIsDamage(claimed: UInt64) throws {
        let fixture = SpoolFixture()
        defer { fixture.remove() }
        do {
            let (spool, _) = try fixture.open(fsync: .always)
            for sequence in 1...38 { spool.append(spoolSample(UInt64(sequence))) }
            spool.acknowledge(upTo: 18)
            spool.close()
        }
        try "\(spoolSession) \(claimed)\n".write(toFile: fixture.path("acked"), atomically: true, encoding: .utf8)
        let (_, recovery) = try fixture.open(fsync: .always)
        #expect(recovery.session == spoolSession)
        #expect(recovery.unacknowledged.map(\.sequence) == Array(1...38), "every held sample is replayed")
        // Numbering goes on above the claim unless that would end the session.
        #expect(recovery.highestSequence == (claimed < 1 << 63 ? claimed : 38))
        #expect(fixture.log.messages.contains { $0.contains("above the highest sequence the spool holds (38)") })
    }

    @Test("a directory at a segment's name or a temporary name does not stop the agent (audit 3/08)")
    func directoriesPlantedInTheSpool() throws {
        let fixture = SpoolFixture()
        defer { fixture.remove() }
        do {
            let (spool, _) = try fixture.open()
            for sequence in 1...3 as ClosedRange<UInt64> { spool.append(spoolSample(sequence)) }
            spool.close()
        }
        let planted = fixture.segments.first!
        try FileManager.default.removeItem(atPath: fixture.path(planted))
        try FileManager.default.createDirectory(atPath: fixture.path(planted), withIntermediateDirectories: false)
        try FileManager.default.createDirectory(
            atPath: fixture.path("seg-x.log.tmp"), withIntermediateDirectories: false)
        let (spool, recovery) = try fixture.open()
        #expect(recovery.unacknowledged.isEmpty)
        let errors = fixture.log.messages.filter { $0.contains("left alone") }
        #expect(errors.count == 2, "\(fixture.log.messages)")
        #expect(!fixture.log.messages.contains { $0.contains("file deleted") }, "no false claim")
        spool.close()
    }

    @Test("a path that is not a directory is a clear error, not a crash")
    func notADirectory() throws {
        let fixture = SpoolFixture()
        defer { fixture.remove() }
        try FileManager.default.createDirectory(
            atPath: (fixture.directory as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data("x".utf8).write(to: URL(fileURLWithPath: fixture.directory))
        #expect {
            try fixture.open()
        } throws: { error in
            "\(error)" == "\(fixture.directory): use as a directory failed: Not a directory"
        }
    }
}
