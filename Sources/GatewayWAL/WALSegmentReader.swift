import GatewayStore
import MonitorModel
import MonitorSystem

/// What a segment holds, as far as it can be trusted.
struct WALSegmentContents: Equatable {
    var firstRecord: UInt64
    /// How many intact records were handed over, up to the first damaged one.
    var recordCount = 0
    /// Bytes from the start of the file to the end of the last intact record: where to cut.
    var validBytes: Int
    /// Why reading stopped before the end of the file, if it did: "torn record at offset 80 ...".
    var damage: String?
    /// Records passed over, not cut, so that one bad record never takes the records after it (other
    /// agents') along: those whose checksum is right but whose content no agent could have sent, and
    /// those damaged (a flipped bit) when the record after them is intact.
    var skipped = 0
    /// Why the first of them was passed over.
    var firstSkipped: String?
}

/// Reads segments written by ``WALFormat``. Total: any byte string gives contents or a header
/// error, never a trap, in time linear in its length; a length field is believed only within the
/// sizes a record can have.
enum WALSegmentReader {
    struct HeaderError: Error, Equatable, CustomStringConvertible {
        var description: String
    }

    static func header(_ bytes: ArraySlice<UInt8>) throws(HeaderError) -> UInt64 {
        guard bytes.count >= WALFormat.headerBytes else { throw HeaderError(description: "shorter than a header") }
        guard bytes.prefix(WALFormat.magic.count).elementsEqual(WALFormat.magic) else {
            throw HeaderError(description: "not a write-ahead log segment (bad magic)")
        }
        let stored = LittleEndian.read(UInt32.self, from: bytes, at: WALFormat.headerBytes - 4)
        guard CRC32C.checksum(bytes.prefix(WALFormat.headerBytes - 4)) == stored else {
            throw HeaderError(description: "header checksum mismatch")
        }
        let first = LittleEndian.read(UInt64.self, from: bytes, at: WALFormat.magic.count)
        guard (1...WALFormat.maximumNumber).contains(first) else {
            throw HeaderError(description: "first record number \(first) is outside 1...2^63")
        }
        return first
    }

    /// Hands each intact record to `record` as it is decoded, in file order: a segment of 64 MiB is
    /// about 700,000 records, which are not all held at once, and a caller reporting progress (to
    /// systemd, during a replay) does so from the first record on.
    static func read(_ bytes: ArraySlice<UInt8>, each record: (WALRecord) -> Void) throws(HeaderError)
        -> WALSegmentContents
    {
        let first = try header(bytes)
        var contents = WALSegmentContents(firstRecord: first, validBytes: WALFormat.headerBytes)
        var offset = WALFormat.headerBytes
        // A record passed over keeps its number: the records after it are numbered on.
        func passOver(to next: Int, records: Int = 1, because reason: String) {
            if contents.skipped == 0 { contents.firstSkipped = "record at offset \(offset): \(reason)" }
            contents.skipped += records
            offset = next
            contents.validBytes = offset
        }
        while true {
            switch ChecksummedRecord.read(bytes, at: offset, lengths: WALFormat.payloadLengths) {
            case .end:
                return contents
            case .torn:
                contents.damage = "torn record at offset \(offset) (the file ends inside it)"
                return contents
            case .corrupt(let reason):
                // A torn tail is cut; damage in the middle (flipped bits) costs only its records.
                guard
                    let (next, records) = ChecksummedRecord.pastDamage(
                        bytes, at: offset, lengths: WALFormat.payloadLengths)
                else {
                    contents.damage = "corrupt record at offset \(offset): \(reason)"
                    return contents
                }
                passOver(to: next, records: records, because: "\(reason) (the record after it is intact)")
            case .record(let payload, let next):
                switch decode(payload) {
                case .success(let decoded):
                    record(decoded)
                    contents.recordCount += 1
                    offset = next
                    contents.validBytes = offset
                case .failure(let error):
                    passOver(to: next, because: error.description)
                }
            }
        }
    }

    /// A payload that passed its checksum but holds what the protocol would have refused is refused:
    /// a damaged log must never put into the store what no agent could have sent. The ranges are
    /// the protocol's (docs/protocol.md), so that everything the gateway accepted reads back.
    static func decode(_ payload: ArraySlice<UInt8>) -> Result<WALRecord, HeaderError> {
        func fail(_ text: String) -> Result<WALRecord, HeaderError> { .failure(HeaderError(description: text)) }
        guard payload.first == WALFormat.sampleKind else { return fail("unknown record kind \(payload.first ?? 0)") }
        var offset = 1
        func take(_ count: Int) -> ArraySlice<UInt8>? {
            guard count >= 0, payload.count - offset >= count else { return nil }
            defer { offset += count }
            return payload.dropFirst(offset).prefix(count)
        }
        func integer() -> UInt64? { take(8).map { LittleEndian.read(UInt64.self, from: $0, at: 0) } }
        func double() -> Double? { integer().map(Double.init(bitPattern:)) }
        guard let arrival = double(), arrival.isFinite, arrival > 0 else {
            return fail("arrival time is not a positive finite number")
        }
        guard let agentLength = take(1)?.first, let agentBytes = take(Int(agentLength)),
            (1...AgentName.maximumLength).contains(agentBytes.count)
        else { return fail("agent name length outside 1...\(AgentName.maximumLength)") }
        let agent = String(decoding: agentBytes, as: UTF8.self)
        guard AgentName.hasOnlyAllowedCharacters(agent) else { return fail("agent name has characters not allowed") }
        guard let sessionLength = take(1)?.first, let sessionBytes = take(Int(sessionLength)),
            WALFormat.sessionLengths.contains(sessionBytes.count),
            sessionBytes.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x66).contains($0) })
        else { return fail("session is not 8 to 64 lowercase hexadecimal digits") }
        guard let sequence = integer(), let timestamp = double(), let ram = double(), let cpu = double(),
            let processRAM = double(), let interrupts = integer(), offset == payload.count
        else { return fail("payload length does not match its names") }
        guard sequence >= 1 else { return fail("sequence 0") }
        guard timestamp.isFinite, timestamp >= 0 else { return fail("timestamp is not a finite number >= 0") }
        guard (0...100).contains(ram), (0...100).contains(cpu) else { return fail("percentage outside 0...100") }
        guard processRAM.isFinite, processRAM >= 0 else { return fail("process RAM is not a finite number >= 0") }
        guard interrupts <= WALFormat.maximumNumber else { return fail("interrupts above 2^63") }
        let sample = Sample(
            sequence: sequence, timestamp: timestamp == 0 ? nil : timestamp, ramUsagePercent: ram,
            cpuUsagePercent: cpu, processRAMGigabytes: processRAM, cpuInterrupts: interrupts)
        return .success(
            WALRecord(
                agent: agent, session: String(decoding: sessionBytes, as: UTF8.self), arrival: arrival, sample: sample))
    }
}
