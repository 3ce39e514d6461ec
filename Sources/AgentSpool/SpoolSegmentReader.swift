import MonitorModel
import MonitorSystem

/// What a segment file holds, as far as it can be trusted.
struct SpoolSegmentContents: Equatable {
    var session: String
    var firstSequence: UInt64
    /// Every intact record up to the first damage that stops the reading, in file order.
    var samples: [Sample]
    /// Bytes from the start of the file up to the end of the last record read: where to truncate.
    var validBytes: Int
    /// Why reading stopped before the end of the file, if it did.
    var damage: SpoolDamage?
    /// Records passed over, so that they cost only themselves, not the rest: those that failed their
    /// checksum although the record after them is intact (a flipped bit in the middle of the file),
    /// and those whose checksum is right but whose content the agent never wrote.
    var skipped = 0
    /// Where and why the first of them was passed over.
    var firstSkipped: SpoolDamage?
}

/// Why a segment could not be read to its end. Reading stops at a torn tail and at a damaged length
/// (the next record's start is then unknown).
enum SpoolDamage: Equatable, CustomStringConvertible {
    /// The file ends inside a record: a write was cut short (a crash or power loss mid-write).
    case torn(offset: Int)
    /// A complete record fails its checksum or holds an impossible value.
    case corrupt(offset: Int, reason: String)

    var offset: Int {
        switch self {
        case .torn(let offset), .corrupt(let offset, _): offset
        }
    }

    var description: String {
        switch self {
        case .torn(let offset): "torn record at offset \(offset) (the file ends inside it)"
        case .corrupt(let offset, let reason): "corrupt record at offset \(offset): \(reason)"
        }
    }
}

/// Why a segment's header is unusable (the whole file is then discarded).
struct SpoolHeaderError: Error, Equatable, CustomStringConvertible {
    var description: String
}

/// Reads segments written by ``SpoolFormat``. Total: any byte string yields a result or a header
/// error, never a trap, and the work is linear in the input.
enum SpoolSegmentReader {
    /// Reads the header only: its session, first sequence and size.
    static func header(_ bytes: ArraySlice<UInt8>) throws(SpoolHeaderError) -> (
        session: String, firstSequence: UInt64, size: Int
    ) {
        let prefix = SpoolFormat.headerPrefixBytes
        guard bytes.count >= prefix else { throw SpoolHeaderError(description: "shorter than a header") }
        guard bytes.prefix(SpoolFormat.magic.count).elementsEqual(SpoolFormat.magic) else {
            throw SpoolHeaderError(description: "not a spool segment (bad magic)")
        }
        let version = bytes[bytes.startIndex + SpoolFormat.magic.count]
        guard version == SpoolFormat.version else {
            throw SpoolHeaderError(description: "unsupported segment version \(version)")
        }
        let sessionLength = Int(bytes[bytes.startIndex + SpoolFormat.magic.count + 1])
        let size = prefix + sessionLength + 8 + 4
        guard bytes.count >= size else { throw SpoolHeaderError(description: "shorter than its header") }
        let stored = SpoolFormat.readLittleEndian(UInt32.self, from: bytes, at: size - 4)
        guard CRC32C.checksum(bytes.prefix(size - 4)) == stored else {
            throw SpoolHeaderError(description: "header checksum mismatch")
        }
        let sessionBytes = bytes.dropFirst(prefix).prefix(sessionLength)
        guard SpoolFormat.isSession(sessionBytes) else {
            throw SpoolHeaderError(description: "session is not 8 to 64 hexadecimal digits")
        }
        let first = SpoolFormat.readLittleEndian(UInt64.self, from: bytes, at: prefix + sessionLength)
        guard first >= 1 else { throw SpoolHeaderError(description: "first sequence is 0") }
        // One above the maximum: the segment a spool at the ceiling starts for its next sample.
        guard first <= SpoolFormat.maximumSequence + 1 else {
            throw SpoolHeaderError(description: "first sequence \(first) is above 2^63 + 1")
        }
        return (String(decoding: sessionBytes, as: UTF8.self).lowercased(), first, size)
    }

    /// Reads a whole segment: its header and every intact record up to a torn tail or a damaged length.
    ///
    /// Records must carry increasing sequences from the header's first sequence on, and values the
    /// gateway accepts: a record that passes its checksum but would be refused on the wire is
    /// passed over, so that a damaged spool can never make the agent resend a poisoned sample forever.
    static func read(_ bytes: ArraySlice<UInt8>) throws(SpoolHeaderError) -> SpoolSegmentContents {
        let header = try header(bytes)
        var contents = SpoolSegmentContents(
            session: header.session, firstSequence: header.firstSequence, samples: [], validBytes: header.size)
        var offset = header.size
        var previous = header.firstSequence - 1
        let length = SpoolFormat.samplePayloadBytes
        func passOver(to next: Int, records: Int = 1, because reason: String) {
            if contents.skipped == 0 { contents.firstSkipped = .corrupt(offset: offset, reason: reason) }
            contents.skipped += records
            offset = next
            contents.validBytes = offset
        }
        while true {
            switch ChecksummedRecord.read(bytes, at: offset, lengths: length...length) {
            case .end:
                return contents
            case .torn:
                contents.damage = .torn(offset: offset)
                return contents
            case .corrupt(let reason):
                contents.damage = .corrupt(offset: offset, reason: reason)
                return contents
            case .damaged(let reason, let next, let records):
                // Records are of one size: damage is stepped over however many records it covers,
                // up to an intact one (a torn tail of zeros, with none after it, is still cut).
                passOver(to: next, records: records, because: reason)
            case .record(let payload, let next):
                switch decodeSample(payload, after: previous) {
                case .success(let sample):
                    contents.samples.append(sample)
                    previous = sample.sequence
                    offset = next
                    contents.validBytes = offset
                case .failure(let reason):
                    // Checksummed, yet nothing the agent wrote: it is never sent (a poisoned sample
                    // must not be resent for ever), and the records after it are kept (audit 6, 05).
                    passOver(to: next, because: reason.description)
                }
            }
        }
    }

    private static func decodeSample(_ payload: ArraySlice<UInt8>, after previous: UInt64) -> Result<
        Sample, SpoolHeaderError
    > {
        func fail(_ text: String) -> Result<Sample, SpoolHeaderError> { .failure(SpoolHeaderError(description: text)) }
        let local = payload
        guard local.first == SpoolFormat.sampleKind else { return fail("unknown record kind \(local.first ?? 0)") }
        func double(_ at: Int) -> Double {
            Double(bitPattern: SpoolFormat.readLittleEndian(UInt64.self, from: local, at: at))
        }
        let sequence = SpoolFormat.readLittleEndian(UInt64.self, from: local, at: 1)
        let timestamp = double(9)
        let ram = double(17)
        let cpu = double(25)
        let processRAM = double(33)
        let interrupts = SpoolFormat.readLittleEndian(UInt64.self, from: local, at: 41)
        guard sequence > previous else { return fail("sequence \(sequence) does not follow \(previous)") }
        guard sequence <= SpoolFormat.maximumSequence else { return fail("sequence \(sequence) is above 2^63") }
        guard timestamp.isFinite, timestamp > 0 else { return fail("timestamp is not a positive finite number") }
        guard (0...100).contains(ram), (0...100).contains(cpu) else { return fail("percentage outside 0...100") }
        guard processRAM.isFinite, processRAM >= 0 else { return fail("process RAM is not a finite number >= 0") }
        guard interrupts <= 1 << 63 else { return fail("interrupts above 2^63") }
        return .success(
            Sample(
                sequence: sequence, timestamp: timestamp, ramUsagePercent: ram, cpuUsagePercent: cpu,
                processRAMGigabytes: processRAM, cpuInterrupts: interrupts))
    }
}
