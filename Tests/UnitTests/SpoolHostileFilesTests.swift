import Foundation
import Testing

@testable import AgentSpool
@testable import MonitorModel

/// Spool files no honest agent writes (issue 11, defects 1 and 11): numbers at the top of the
/// range, a directory others can write to, links planted under the names the spool writes.
/// Opening must never trap, and must never number past what can be counted on.
@Suite("Spool against hostile files")
struct SpoolHostileFilesTests {
    func write(_ bytes: [UInt8], to path: String) throws {
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    /// A segment of samples numbered anywhere up to 2^64 - 1 (``spoolSample`` adds to its counter).
    func segment(_ sequences: ClosedRange<UInt64>) -> [UInt8] {
        var bytes = SpoolFormat.header(session: spoolSession, firstSequence: sequences.lowerBound)
        for sequence in sequences {
            bytes += SpoolFormat.record(
                Sample(
                    sequence: sequence, timestamp: 1, ramUsagePercent: 1, cpuUsagePercent: 1, processRAMGigabytes: 1,
                    cpuInterrupts: 1))
        }
        return bytes
    }

    @Test(
        "a watermark at or beyond 2^63 is ignored with a warning, and numbering goes on from the segments",
        arguments: ["18446744073709551615", "18446744073709551614", "9223372036854775809"])
    func watermarkAtTheTop(sequence: String) throws {
        let fixture = SpoolFixture()
        defer { fixture.remove() }
        try write(spoolSegment(1...3), to: fixture.path(SampleSpool.segmentName(1)))
        try write(Array("\(spoolSession) \(sequence)\n".utf8), to: fixture.path("acked"))
        let (spool, recovery) = try fixture.open()
        #expect(recovery.acknowledged == 0 && recovery.highestSequence == 3)
        #expect(recovery.unacknowledged.map(\.sequence) == [1, 2, 3])
        #expect(
            fixture.log.messages.contains { $0.contains("acked") && $0.contains("ignored") }, "\(fixture.log.messages)")
        spool.append(spoolSample(4))
        spool.close()
    }

    @Test("a watermark of exactly 2^63 is believed, and the spool makes no segment beyond it")
    func watermarkAtTheCeiling() throws {
        let fixture = SpoolFixture()
        defer { fixture.remove() }
        try write(Array("\(spoolSession) 9223372036854775808\n".utf8), to: fixture.path("acked"))
        let (spool, recovery) = try fixture.open()
        #expect(recovery.highestSequence == 1 << 63)
        // A number past the ceiling is refused, not spooled.
        spool.append(spoolSample((1 << 63) + 1))
        spool.close()
        #expect(fixture.segments.isEmpty, "\(fixture.segments)")
        #expect(fixture.log.messages.contains { $0.contains("above 2^63") }, "\(fixture.log.messages)")
        #expect(try fixture.open().1.highestSequence == 1 << 63)
    }

    @Test("a watermark above 2^63 is refused as corrupt, with a line saying so")
    func watermarkAboveTheCeilingIsCorrupt() throws {
        let fixture = SpoolFixture()
        defer { fixture.remove() }
        try write(Array("\(spoolSession) 9223372036854775809\n".utf8), to: fixture.path("acked"))
        let (spool, recovery) = try fixture.open()
        spool.close()
        #expect(recovery.acknowledged == 0)
        #expect(
            fixture.log.messages.contains {
                $0.contains("9223372036854775809") && $0.contains("above 2^63") && $0.contains("corrupt")
            }, "\(fixture.log.messages)")
    }

    @Test("a new session replaces a spool at its ceiling: old segments and watermark go, numbering starts at 1")
    func newSessionAtTheCeiling() throws {
        let fixture = SpoolFixture()
        defer { fixture.remove() }
        let top = UInt64(1) << 63
        try write(segment((top - 2)...top), to: fixture.path(SampleSpool.segmentName(top - 2)))
        let (spool, recovery) = try fixture.open()
        #expect(recovery.highestSequence == top && recovery.unacknowledged.count == 3)
        let discarded = spool.startNewSession("00000000aaaaaaaa")
        #expect(discarded == 3)
        spool.append(spoolSample(1))
        spool.append(spoolSample(2))
        spool.acknowledge(upTo: top, session: spoolSession)  // of the old session: ignored
        spool.close()
        #expect(fixture.segments == [SampleSpool.segmentName(1)], "\(fixture.segments)")
        let (reopened, again) = try fixture.open()
        reopened.close()
        #expect(again.session == "00000000aaaaaaaa" && again.highestSequence == 2 && again.acknowledged == 0)
        #expect(fixture.log.messages.contains { $0.contains("new session") }, "\(fixture.log.messages)")
    }

    @Test("a segment claiming numbers above 2^63 is refused, whatever its checksums say")
    func segmentAtTheTop() throws {
        let fixture = SpoolFixture()
        defer { fixture.remove() }
        try write(spoolSegment(1...2), to: fixture.path(SampleSpool.segmentName(1)))
        // Header at 2^64 - 1 (deleted), and a segment whose records climb past 2^63 (cut there).
        try write(segment(UInt64.max...UInt64.max), to: fixture.path(SampleSpool.segmentName(UInt64.max)))
        let top = UInt64(1) << 63
        try write(segment((top - 1)...(top + 1)), to: fixture.path(SampleSpool.segmentName(top - 1)))
        let (spool, recovery) = try fixture.open()
        #expect(recovery.highestSequence == top)
        #expect(recovery.unacknowledged.map(\.sequence) == [1, 2, top - 1, top])
        spool.close()
        #expect(!fixture.segments.contains(SampleSpool.segmentName(UInt64.max)))
    }

    @Test("an acknowledgement of 2^64-1 is not recorded, so the next start is a normal one")
    func acknowledgementAtTheTop() throws {
        let fixture = SpoolFixture()
        defer { fixture.remove() }
        do {
            let (spool, _) = try fixture.open()
            for sequence in 1...3 { spool.append(spoolSample(UInt64(sequence))) }
            spool.acknowledge(upTo: UInt64.max)
            spool.close()
        }
        let (spool, recovery) = try fixture.open()
        #expect(recovery.highestSequence == 3 && recovery.acknowledged == 0)
        spool.close()
    }

    @Test("a spool directory other users can write to is refused with the reason")
    func worldWritableDirectory() throws {
        let fixture = SpoolFixture()
        defer { fixture.remove() }
        try FileManager.default.createDirectory(atPath: fixture.directory, withIntermediateDirectories: true)
        chmod(fixture.directory, 0o777)
        #expect {
            try fixture.open()
        } throws: { error in
            "\(error)".contains("writable by group or others (mode 777)")
        }
        chmod(fixture.directory, 0o750)
        #expect(throws: Never.self) { try fixture.open().0.close() }
    }

    @Test("a link planted under a temporary name is not followed: the file it points to is untouched")
    func plantedLink() throws {
        let fixture = SpoolFixture()
        defer { fixture.remove() }
        let (spool, _) = try fixture.open()
        spool.append(spoolSample(1))
        let victim = (fixture.directory as NSString).deletingLastPathComponent + "/victim"
        try Data("precious\n".utf8).write(to: URL(fileURLWithPath: victim))
        try FileManager.default.createSymbolicLink(atPath: fixture.path("acked.tmp"), withDestinationPath: victim)
        spool.acknowledge(upTo: 1)
        spool.close()
        #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious\n")
        #expect(fixture.log.messages.contains { $0.contains("acked.tmp") }, "\(fixture.log.messages)")
    }
}
