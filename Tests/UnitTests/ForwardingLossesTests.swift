import Foundation
import TestSupport
import Testing

@testable import GatewayWAL
@testable import MonitorSystem

/// The record of records remote write passed over (audit 15, F05): what a restart must not take
/// as sent. A file that cannot be trusted takes nothing as sent.
@Suite("Forwarding losses on disk")
struct ForwardingLossesTests {
    @Test("stored and loaded back; absent without a position is none, absent beside one is every number (audit 17, A)")
    func roundTrip() throws {
        let directory = try makeTemporaryDirectory("losses")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        #expect(ForwardingLosses.load(directory: directory, positionRecorded: false) == .init(ranges: []))
        let missing = ForwardingLosses.load(directory: directory, positionRecorded: true)
        #expect(missing.ranges == [0...UInt64.max] && missing.problem?.contains("missing") == true, "\(missing)")
        let ranges: [ClosedRange<UInt64>] = [5...9, 20...20, 100...(1 << 62)]
        try ForwardingLosses.store(ranges, directory: directory)
        #expect(ForwardingLosses.load(directory: directory, positionRecorded: true) == .init(ranges: ranges))
        #expect(ForwardingLosses.load(directory: directory, positionRecorded: false) == .init(ranges: ranges))
    }

    @Test("a new run keeps the ranges up to the last record of the previous runs: every number becomes those records")
    func keptUpToTheLastRecord() {
        #expect(ForwardingLosses.kept([0...UInt64.max], upTo: 500) == [0...500])
        #expect(ForwardingLosses.kept([5...9, 20...30, 40...50], upTo: 25) == [5...9, 20...25])
        #expect(ForwardingLosses.kept([5...9], upTo: 0) == [])
        #expect(ForwardingLosses.kept([], upTo: 10) == [])
    }

    @Test("at most 16 ranges: the oldest merged into one, covering all they covered")
    func bounded() {
        var ranges: [ClosedRange<UInt64>] = []
        for index in UInt64(0)..<40 { ranges = ForwardingLosses.adding(index * 10...index * 10 + 2, to: ranges) }
        #expect(ranges.count == ForwardingLosses.maximumRanges)
        #expect(ranges.first == 0...242)
        #expect(ranges.last == 390...392)
        for index in UInt64(0)..<40 { #expect(ranges.contains { $0.contains(index * 10 + 1) }) }
    }

    @Test(
        "a file that cannot be trusted (garbage, cut, a flipped bit, a range backwards, a count that lies) takes every number as passed over"
    )
    func untrusted() throws {
        let directory = try makeTemporaryDirectory("losses")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let good = ForwardingLosses.encode([1...2, 7...9])
        var backwards = Array("MONDLOS1".utf8)
        backwards += [1, 0, 0, 0] + [9, 0, 0, 0, 0, 0, 0, 0] + [7, 0, 0, 0, 0, 0, 0, 0]
        LittleEndian.append(CRC32C.checksum(backwards), to: &backwards)
        var lyingCount = good
        lyingCount[16] = 200
        var flipped = good
        flipped[13] ^= 0x04
        let files: [[UInt8]] = [
            [], Array("garbage".utf8), Array(good.dropLast()), good + [0], flipped, backwards, lyingCount,
            [UInt8](repeating: 0xFF, count: 4096),
        ]
        for bytes in files {
            try Data(bytes).write(to: URL(fileURLWithPath: directory + "/" + ForwardingLosses.fileName))
            let loaded = ForwardingLosses.load(directory: directory, positionRecorded: false)
            #expect(loaded.ranges == [0...UInt64.max] && loaded.problem != nil, "\(bytes.prefix(16)): \(loaded)")
        }
    }

    @Test(
        "only the file the position was written after counts: an older copy or another log's (the same empty file everywhere) is untrusted (audit 19, B); version 1 files are still read"
    )
    func boundToThePosition() throws {
        let directory = try makeTemporaryDirectory("losses")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try ForwardingLosses.store([], nonce: 41, directory: directory)
        #expect(ForwardingLosses.load(directory: directory, positionRecorded: true, boundTo: 41) == .init(ranges: []))
        let older = ForwardingLosses.load(directory: directory, positionRecorded: true, boundTo: 42)
        #expect(older.ranges == [0...UInt64.max] && older.problem?.contains("older copy") == true, "\(older)")
        // A version 1 position names no file: the file is taken as it is.
        #expect(ForwardingLosses.load(directory: directory, positionRecorded: true, boundTo: nil) == .init(ranges: []))
        var first = Array("MONDLOS1".utf8) + [1, 0, 0, 0] + [5, 0, 0, 0, 0, 0, 0, 0] + [9, 0, 0, 0, 0, 0, 0, 0]
        LittleEndian.append(CRC32C.checksum(first), to: &first)
        try Data(first).write(to: URL(fileURLWithPath: directory + "/" + ForwardingLosses.fileName))
        #expect(ForwardingLosses.load(directory: directory, positionRecorded: true) == .init(ranges: [5...9]))
    }

    @Test("the position names the losses file's nonce; a version 1 position is still read, naming none")
    func positionNamesTheNonce() throws {
        let directory = try makeTemporaryDirectory("position")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try ForwardingPosition.store(77, lossesNonce: 0xDEAD_BEEF, directory: directory)
        #expect(
            ForwardingPosition.load(directory: directory) == .init(number: 77, problem: nil, lossesNonce: 0xDEAD_BEEF))
        var first = Array("MONDFWD1".utf8) + [12, 0, 0, 0, 0, 0, 0, 0]
        LittleEndian.append(CRC32C.checksum(first), to: &first)
        try Data(first).write(to: URL(fileURLWithPath: directory + "/" + ForwardingPosition.fileName))
        #expect(ForwardingPosition.load(directory: directory) == .init(number: 12, problem: nil, lossesNonce: nil))
    }
}
