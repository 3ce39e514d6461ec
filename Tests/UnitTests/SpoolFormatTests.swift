import Testing

@testable import AgentSpool
@testable import MonitorModel
@testable import MonitorSystem

/// Samples as the agent takes them, with values that exercise every field of a record.
func spoolSample(_ sequence: UInt64) -> Sample {
    Sample(
        sequence: sequence, timestamp: 1_732_520_000.125 + Double(sequence) / 3, ramUsagePercent: 58.4,
        cpuUsagePercent: Double(sequence % 100) + 0.1, processRAMGigabytes: 0.009_277_343_75,
        cpuInterrupts: 706_148 + sequence)
}

let spoolSession = "5f2c9a0b1c2d3e4f5f2c9a0b1c2d3e4f"

/// A segment of `sequences` as the spool writes it.
func spoolSegment(_ sequences: ClosedRange<UInt64>, session: String = spoolSession) -> [UInt8] {
    var bytes = SpoolFormat.header(session: session, firstSequence: sequences.lowerBound)
    for sequence in sequences { bytes += SpoolFormat.record(spoolSample(sequence)) }
    return bytes
}

@Suite("Spool segment format and reader")
struct SpoolFormatTests {
    let headerBytes = SpoolFormat.header(session: spoolSession, firstSequence: 1).count
    let recordBytes = SpoolFormat.sampleRecordBytes

    @Test("records round-trip every field exactly")
    func roundTrip() throws {
        let contents = try SpoolSegmentReader.read(spoolSegment(1...20)[...])
        #expect(contents.session == spoolSession)
        #expect(contents.firstSequence == 1)
        #expect(contents.samples == (1...20).map(spoolSample))
        #expect(contents.damage == nil)
        #expect(contents.validBytes == headerBytes + 20 * recordBytes)
    }

    @Test("a record is 57 bytes and checksums are CRC-32C")
    func sizesAndChecksum() {
        #expect(SpoolFormat.record(spoolSample(1)).count == 57)
        // The check value of CRC-32C (RFC 3720, appendix B.4).
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        #expect(CRC32C.checksum(Array("6789".utf8), continuing: CRC32C.checksum(Array("12345".utf8))) == 0xE306_9283)
    }

    @Test("a tail torn at every byte offset of the last record keeps the records before it")
    func tornAtEveryOffset() throws {
        let whole = spoolSegment(1...3)
        let lastStart = headerBytes + 2 * recordBytes
        for cut in 0..<recordBytes {
            let contents = try SpoolSegmentReader.read(whole[0..<(lastStart + cut)])
            #expect(contents.samples.map(\.sequence) == [1, 2], "cut at \(cut)")
            #expect(contents.validBytes == lastStart, "cut at \(cut)")
            #expect(contents.damage == (cut == 0 ? nil : .torn(offset: lastStart)), "cut at \(cut)")
        }
    }

    @Test("a corrupt checksum in the middle stops reading there")
    func corruptMiddle() throws {
        var bytes = spoolSegment(1...5)
        let secondStart = headerBytes + recordBytes
        bytes[secondStart + 20] ^= 0x40
        let contents = try SpoolSegmentReader.read(bytes[...])
        // Audit 5, finding 04b: the damaged record costs itself, not the three after it.
        #expect(contents.samples.map(\.sequence) == [1, 3, 4, 5])
        #expect(contents.damage == nil)
        #expect(contents.skipped == 1)
        #expect(contents.firstSkipped == .corrupt(offset: secondStart, reason: "checksum mismatch"))
        #expect(contents.validBytes == bytes.count)
    }

    /// Records are of one size, so even a damaged length is stepped over (audit 6, 04).
    @Test(
        "any single flipped bit in a record is detected, never read as a different sample, and costs that record only")
    func everyBitFlip() throws {
        let whole = spoolSegment(1...3)
        let secondStart = headerBytes + recordBytes
        for index in secondStart..<(secondStart + recordBytes) {
            for bit in 0..<8 {
                var bytes = whole
                bytes[index] ^= 1 << bit
                let contents = try SpoolSegmentReader.read(bytes[...])
                #expect(contents.samples.map(\.sequence) == [1, 3], "byte \(index) bit \(bit)")
                #expect(contents.damage == nil && contents.skipped == 1, "byte \(index) bit \(bit)")
                #expect(contents.firstSkipped?.offset == secondStart)
            }
        }
    }

    @Test("a damaged length field is reported and stepped over; zeros a power loss leaves at the end are cut")
    func badLength() throws {
        let secondStart = headerBytes + recordBytes
        for length: UInt8 in [0, 48, 50, 200] {
            var bytes = spoolSegment(1...3)
            bytes[secondStart] = length
            let contents = try SpoolSegmentReader.read(bytes[...])
            #expect(contents.samples.map(\.sequence) == [1, 3] && contents.damage == nil)
            #expect(
                contents.firstSkipped == .corrupt(offset: secondStart, reason: "payload length \(length), expected 49"))
        }
        let zeros = spoolSegment(1...1) + [UInt8](repeating: 0, count: 4096)
        let contents = try SpoolSegmentReader.read(zeros[...])
        #expect(contents.samples.map(\.sequence) == [1])
        #expect(contents.damage == .corrupt(offset: secondStart, reason: "payload length 0, expected 49"))
    }

    /// Audit 6, 04: a zeroed block (a lost disk page) in the middle took every record after it.
    @Test("a zeroed 4 KiB block in the middle of a segment costs the records it covers, not those after it")
    func zeroedBlockInTheMiddle() throws {
        var bytes = spoolSegment(1...200)
        let blockStart = 4096
        bytes.replaceSubrange(blockStart..<(blockStart + 4096), with: [UInt8](repeating: 0, count: 4096))
        let contents = try SpoolSegmentReader.read(bytes[...])
        // Record n spans [header + (n - 1) * size, header + n * size): those outside the block are kept
        // (one touching it may survive too, where its bytes there were zeros already).
        let outside = (1...200).filter { n in
            headerBytes + n * recordBytes <= blockStart || headerBytes + (n - 1) * recordBytes >= blockStart + 4096
        }
        let sequences = contents.samples.map(\.sequence)
        #expect(contents.damage == nil && contents.validBytes == bytes.count)
        #expect(Set(outside.map(UInt64.init)).isSubset(of: sequences) && sequences == sequences.sorted())
        #expect(contents.skipped + sequences.count == 200 && contents.skipped >= 70)
    }

    /// Never sent (a poisoned sample must not be resent for ever), and the records after it kept
    /// (audit 6, 05: the rest of the segment was cut, 29 undelivered samples).
    @Test("records that pass the checksum but would be refused on the wire are passed over, the rest kept")
    func invalidValues() throws {
        var bad = spoolSample(2)
        bad.cpuUsagePercent = 150
        var bytes = spoolSegment(1...1) + SpoolFormat.record(bad) + SpoolFormat.record(spoolSample(3))
        let offset = headerBytes + recordBytes
        var contents = try SpoolSegmentReader.read(bytes[...])
        #expect(contents.samples.map(\.sequence) == [1, 3] && contents.damage == nil && contents.skipped == 1)
        #expect(contents.firstSkipped == .corrupt(offset: offset, reason: "percentage outside 0...100"))
        bytes = spoolSegment(1...2) + SpoolFormat.record(spoolSample(2)) + SpoolFormat.record(spoolSample(3))
        contents = try SpoolSegmentReader.read(bytes[...])
        #expect(contents.samples.map(\.sequence) == [1, 2, 3], "a repeated sequence is not sent twice")
        #expect(contents.firstSkipped == .corrupt(offset: offset + recordBytes, reason: "sequence 2 does not follow 2"))
        bad = spoolSample(3)
        bad.timestamp = .nan
        bytes = spoolSegment(1...2) + SpoolFormat.record(bad)
        contents = try SpoolSegmentReader.read(bytes[...])
        #expect(contents.samples.map(\.sequence) == [1, 2] && contents.validBytes == bytes.count)
        #expect(
            contents.firstSkipped
                == .corrupt(offset: offset + recordBytes, reason: "timestamp is not a positive finite number"))
    }

    @Test(
        "damaged headers are refused with a reason",
        arguments: [
            (0, "not a spool segment (bad magic)"), (8, "unsupported segment version 0"),
            (20, "header checksum mismatch"), (-1, "header checksum mismatch"),
        ])
    func badHeaders(index: Int, reason: String) {
        var bytes = spoolSegment(1...1)
        let position = index >= 0 ? index : headerBytes - 1
        bytes[position] ^= 0x01
        #expect(throws: SpoolHeaderError(description: reason)) { try SpoolSegmentReader.read(bytes[...]) }
    }

    @Test("a file shorter than a header is refused, whatever its length")
    func shortHeaders() {
        let whole = spoolSegment(1...1)
        for length in 0..<headerBytes {
            #expect(throws: SpoolHeaderError.self) { try SpoolSegmentReader.read(whole[0..<length]) }
        }
    }

    @Test("the watermark file reads back what was written, and nothing malformed")
    func watermark() {
        let mark = SpoolWatermark(session: spoolSession, sequence: 41)
        #expect(SpoolWatermark.parse(mark.encoded) == mark)
        for text in [
            "", "\n", "\(spoolSession) 41", "\(spoolSession) -1\n", "xyz 41\n", "\(spoolSession)  41\n",
            "\(spoolSession) 41 42\n", "\(spoolSession) 99999999999999999999\n",
        ] {
            #expect(SpoolWatermark.parse(Array(text.utf8)) == nil, "\(text)")
        }
    }

    @Test("segment names sort by first sequence and parse back")
    func segmentNames() {
        #expect(SampleSpool.segmentName(42) == "seg-00000000000000000042.log")
        #expect(SampleSpool.segmentSequence(SampleSpool.segmentName(.max)) == .max)
        #expect(SampleSpool.segmentSequence("seg-42.log") == nil)
        #expect(SampleSpool.segmentSequence("seg-0000000000000000004x.log") == nil)
        #expect(SampleSpool.segmentName(9) < SampleSpool.segmentName(10))
    }
}
