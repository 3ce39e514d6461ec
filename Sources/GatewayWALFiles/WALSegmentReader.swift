package import GatewayStore
import MonitorModel
import MonitorSystem

/// What a segment holds, as far as it can be trusted.
package struct WALSegmentContents: Equatable {
    package var firstRecord: UInt64
    /// Where the numbered records begin (after the header and the checkpoint).
    package var recordsStart: Int
    /// How many intact records were handed over, up to the first damaged one.
    package var recordCount = 0
    /// Bytes from the start of the file to the end of the last intact record: where to cut.
    package var validBytes: Int
    /// Why reading stopped before the end of the file, if it did: "torn record at offset 80 ...".
    package var damage: String?
    /// Records passed over, not cut, so that one bad record never takes the records after it (other
    /// agents') along: those whose checksum is right but whose content no agent could have sent, and
    /// those damaged (a flipped bit) when the record after them is intact.
    package var skipped = 0
    /// Why the first of them was passed over.
    package var firstSkipped: String?
    /// Checkpoint entries handed over.
    package var checkpointEntries = 0
    /// Why checkpoint entries were passed over (damaged, or holding what no agent could send), if
    /// any were: their agents' totals are then rebuilt from the records alone.
    package var checkpointDamage: String?
}

/// Reads segments written by ``WALFormat``. Total: any byte string gives contents or a header
/// error, never a trap, in time linear in its length; a length field is believed only within the
/// sizes a record can have.
package enum WALSegmentReader {
    package struct HeaderError: Error, Equatable, CustomStringConvertible {
        package var description: String

        package init(description: String) {
            self.description = description
        }
    }

    /// Where a segment's parts lie, from its header.
    package struct Header: Equatable {
        package var firstRecord: UInt64
        /// Where the checkpoint ends and the numbered records begin.
        package var recordsStart: Int
    }

    package static func header(_ bytes: ArraySlice<UInt8>) throws(HeaderError) -> Header {
        let magicBytes = WALFormat.magic.count
        guard bytes.count >= WALFormat.firstVersionHeaderBytes else {
            throw HeaderError(description: "shorter than a header")
        }
        let headerBytes: Int
        if bytes.prefix(magicBytes).elementsEqual(WALFormat.magic) {
            headerBytes = WALFormat.headerBytes
        } else if bytes.prefix(magicBytes).elementsEqual(WALFormat.firstVersionMagic) {
            headerBytes = WALFormat.firstVersionHeaderBytes
        } else {
            throw HeaderError(description: "not a write-ahead log segment (bad magic)")
        }
        guard bytes.count >= headerBytes else { throw HeaderError(description: "shorter than a header") }
        let stored = LittleEndian.read(UInt32.self, from: bytes, at: headerBytes - 4)
        guard CRC32C.checksum(bytes.prefix(headerBytes - 4)) == stored else {
            throw HeaderError(description: "header checksum mismatch")
        }
        let first = LittleEndian.read(UInt64.self, from: bytes, at: magicBytes)
        guard (1...WALFormat.maximumNumber).contains(first) else {
            throw HeaderError(description: "first record number \(first) is outside 1...2^63")
        }
        var checkpointBytes = 0
        if headerBytes == WALFormat.headerBytes {
            checkpointBytes = Int(LittleEndian.read(UInt32.self, from: bytes, at: magicBytes + 8))
            // Written with its header in one piece (a temporary file, renamed): never torn.
            guard checkpointBytes <= WALFormat.maximumCheckpointBytes, bytes.count - headerBytes >= checkpointBytes
            else {
                throw HeaderError(
                    description: "its checkpoint of \(checkpointBytes) bytes is beyond the file or the bound")
            }
        }
        return Header(firstRecord: first, recordsStart: headerBytes + checkpointBytes)
    }

    /// Hands each intact checkpoint entry to `checkpoint`, then each intact record to `record` with
    /// its number as it is decoded, in file order: a segment of 64 MiB is about 700,000 records, which are not all
    /// held at once, and a caller reporting progress (to systemd, during a replay) does so from the
    /// first record on.
    package static func read(
        _ bytes: ArraySlice<UInt8>, checkpoint: (LogCheckpoint.Agent) -> Void = { _ in },
        each record: (WALRecord, UInt64) -> Void
    ) throws(HeaderError) -> WALSegmentContents {
        let header = try header(bytes)
        var contents = WALSegmentContents(
            firstRecord: header.firstRecord, recordsStart: header.recordsStart, validBytes: header.recordsStart)
        readCheckpoint(bytes.prefix(header.recordsStart), into: &contents, checkpoint)
        var offset = header.recordsStart
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
                contents.damage = "corrupt record at offset \(offset): \(reason)"
                return contents
            case .damaged(let reason, let next, let records):
                // A torn tail is cut; damage in the middle (flipped bits) costs only its records.
                passOver(to: next, records: records, because: "\(reason) (the record after it is intact)")
            case .record(let payload, let next):
                switch decode(payload) {
                case .success(let decoded):
                    record(decoded, header.firstRecord + UInt64(contents.recordCount + contents.skipped))
                    contents.recordCount += 1
                    offset = next
                    contents.validBytes = offset
                case .failure(let error):
                    passOver(to: next, because: error.description)
                }
            }
        }
    }

    /// The checkpoint: `region` ends where the header says the records begin, so damage here costs
    /// checkpoint entries only, never a record or its number. A damaged entry is passed over like a
    /// damaged record; one that cannot be stepped over passes the rest of the checkpoint over.
    private static func readCheckpoint(
        _ region: ArraySlice<UInt8>, into contents: inout WALSegmentContents,
        _ checkpoint: (LogCheckpoint.Agent) -> Void
    ) {
        // Segments of the first version have none.
        guard contents.recordsStart >= WALFormat.headerBytes else { return }
        var offset = WALFormat.headerBytes
        var passedOver = 0
        var firstReason: String?
        func note(_ reason: String, entries: Int) {
            if firstReason == nil { firstReason = "entry at offset \(offset): \(reason)" }
            passedOver += entries
        }
        scan: while true {
            switch ChecksummedRecord.read(region, at: offset, lengths: WALFormat.checkpointPayloadLengths) {
            case .end:
                break scan
            case .torn:
                note("the checkpoint ends inside it", entries: 1)
                break scan
            case .corrupt(let reason):
                note("\(reason); the rest of the checkpoint is passed over", entries: 1)
                break scan
            case .damaged(let reason, let next, let entries):
                note(reason, entries: entries)
                offset = next
            case .record(let payload, let next):
                switch decodeCheckpoint(payload) {
                case .success(let agent):
                    checkpoint(agent)
                    contents.checkpointEntries += 1
                case .failure(let error):
                    note(error.description, entries: 1)
                }
                offset = next
            }
        }
        if let firstReason {
            contents.checkpointDamage = "\(passedOver) checkpoint entries passed over, the first \(firstReason)"
        }
    }

    /// A payload that passed its checksum but holds what the protocol would have refused is refused:
    /// a damaged log must never put into the store what no agent could have sent. The ranges are
    /// the protocol's (docs/protocol.md), so that everything the gateway accepted reads back.
    package static func decode(_ payload: ArraySlice<UInt8>) -> Result<WALRecord, HeaderError> {
        guard payload.first == WALFormat.sampleKind else {
            return .failure(HeaderError(description: "unknown record kind \(payload.first ?? 0)"))
        }
        return decodeSample(payload.dropFirst())
    }

    /// A checkpoint entry, checked like a record, and its count and time like the protocol's numbers.
    static func decodeCheckpoint(_ payload: ArraySlice<UInt8>) -> Result<LogCheckpoint.Agent, HeaderError> {
        func fail(_ text: String) -> Result<LogCheckpoint.Agent, HeaderError> {
            .failure(HeaderError(description: text))
        }
        guard payload.first == WALFormat.checkpointKind else {
            return fail("unknown checkpoint entry kind \(payload.first ?? 0)")
        }
        let fields = payload.dropFirst()
        guard fields.count >= WALFormat.checkpointExtraBytes else { return fail("shorter than a checkpoint entry") }
        let count = LittleEndian.read(UInt64.self, from: fields, at: 0)
        let lastSeen = Double(bitPattern: LittleEndian.read(UInt64.self, from: fields, at: 8))
        guard (1...WALFormat.maximumNumber).contains(count) else { return fail("received count outside 1...2^63") }
        guard lastSeen.isFinite, lastSeen >= 0 else { return fail("last seen is not a finite number >= 0") }
        switch decodeSample(fields.dropFirst(WALFormat.checkpointExtraBytes)) {
        case .failure(let error):
            return .failure(error)
        case .success(let latest):
            // What add() would have made of it: seen no later than the newest record arrived.
            guard lastSeen <= latest.arrival else { return fail("last seen after the newest record arrived") }
            return .success(LogCheckpoint.Agent(latest: latest, samplesReceived: count, lastSeen: lastSeen))
        }
    }

    /// A sample payload after its kind byte.
    private static func decodeSample(_ payload: ArraySlice<UInt8>) -> Result<WALRecord, HeaderError> {
        func fail(_ text: String) -> Result<WALRecord, HeaderError> { .failure(HeaderError(description: text)) }
        var offset = 0
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
