import GatewayStore
import MonitorModel
import MonitorSystem

/// The on-disk layout of write-ahead log segments, without any I/O so that the reader can be
/// fuzzed on its own. All integers little-endian; records are framed as ``ChecksummedRecord``
/// (length, CRC-32C, payload), like the agent's spool.
///
///     header:  "MONDWAL1" | first record number u64 | CRC-32C u32 of the preceding header bytes
///     payload: kind u8 (1: sample) | arrival f64 | agent length u8 | agent | session length u8
///              | session (hex) | sequence u64 | timestamp f64 (0: none) | RAM % f64 | CPU % f64
///              | process RAM GiB f64 | interrupts u64
///
/// Records are numbered from 1 across segments and restarts; a segment is named after the number
/// of its first record, so that the oldest segment is found without opening any.
enum WALFormat {
    static let magic = Array("MONDWAL1".utf8)
    static let headerBytes = magic.count + 8 + 4
    static let sampleKind: UInt8 = 1
    /// Payload bytes besides the agent and session names.
    static let fixedPayloadBytes = 1 + 8 + 1 + 1 + 8 + 8 * 4 + 8
    static let sessionLengths = 8...64
    static let shortestPayload = fixedPayloadBytes + 1 + sessionLengths.lowerBound
    static let longestPayload = fixedPayloadBytes + AgentName.maximumLength + sessionLengths.upperBound
    static let payloadLengths = shortestPayload...longestPayload
    /// The highest record number believed (record numbers are the log's own), and the highest
    /// interrupt count, as in the protocol. Sequence numbers take the protocol's whole range.
    static let maximumNumber: UInt64 = 1 << 63

    static func header(firstRecord: UInt64) -> [UInt8] {
        var bytes = magic
        LittleEndian.append(firstRecord, to: &bytes)
        LittleEndian.append(CRC32C.checksum(bytes), to: &bytes)
        return bytes
    }

    /// Appends the framed record of `record` to `bytes`. The caller passes only what the protocol
    /// accepted: a name and session the reader would refuse are a programming error.
    static func append(_ record: WALRecord, to bytes: inout [UInt8]) {
        let agent = Array(record.agent.utf8)
        let session = Array(record.session.utf8)
        precondition((1...AgentName.maximumLength).contains(agent.count) && sessionLengths.contains(session.count))
        var payload: [UInt8] = []
        payload.reserveCapacity(fixedPayloadBytes + agent.count + session.count)
        payload.append(sampleKind)
        LittleEndian.append(record.arrival.bitPattern, to: &payload)
        payload.append(UInt8(agent.count))
        payload += agent
        payload.append(UInt8(session.count))
        payload += session
        let sample = record.sample
        LittleEndian.append(sample.sequence, to: &payload)
        LittleEndian.append((sample.timestamp ?? 0).bitPattern, to: &payload)
        LittleEndian.append(sample.ramUsagePercent.bitPattern, to: &payload)
        LittleEndian.append(sample.cpuUsagePercent.bitPattern, to: &payload)
        LittleEndian.append(sample.processRAMGigabytes.bitPattern, to: &payload)
        LittleEndian.append(sample.cpuInterrupts, to: &payload)
        ChecksummedRecord.append(payload, to: &bytes)
    }

    /// Segments are named after the number of their first record.
    private static let segmentFiles = SegmentFileName(prefix: "wal")

    static func segmentName(_ firstRecord: UInt64) -> String { segmentFiles.name(firstRecord) }

    static func segmentNumber(_ name: String) -> UInt64? { segmentFiles.number(name) }
}
