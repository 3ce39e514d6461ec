package import GatewayStore
import MonitorModel
import MonitorSystem

/// The on-disk layout of write-ahead log segments, without any I/O so that the reader can be
/// fuzzed on its own. All integers little-endian; records are framed as ``ChecksummedRecord``
/// (length, CRC-32C, payload), like the agent's spool.
///
///     header (2):  "MONDWAL2" | first record number u64 | checkpoint bytes u32
///                  | CRC-32C u32 of the preceding header bytes
///     header (1):  "MONDWAL1" | first record number u64 | CRC-32C u32 (segments of earlier
///                  versions: no checkpoint; still read)
///     checkpoint:  framed checkpoint entries, exactly as many bytes as the header says
///     records:     framed sample records, to the end of the file
///
///     sample payload:     kind u8 (1) | arrival f64 | agent length u8 | agent | session length u8
///                         | session (hex) | sequence u64 | timestamp f64 (0: none) | RAM % f64
///                         | CPU % f64 | process RAM GiB f64 | interrupts u64
///     checkpoint payload: kind u8 (2) | samples received u64 | last seen f64 | then the agent's
///                         newest record as a sample payload after its kind byte
///
/// Records are numbered from 1 across segments and restarts; a segment is named after the number
/// of its first record, so that the oldest segment is found without opening any. Checkpoint
/// entries take no numbers: the header says where they end, so that even a damaged entry cannot
/// shift the numbering of the records after it.
package enum WALFormat {
    static let magic = Array("MONDWAL2".utf8)
    static let firstVersionMagic = Array("MONDWAL1".utf8)
    static let headerBytes = magic.count + 8 + 4 + 4
    static let firstVersionHeaderBytes = firstVersionMagic.count + 8 + 4
    static let sampleKind: UInt8 = 1
    static let checkpointKind: UInt8 = 2
    /// Payload bytes besides the agent and session names.
    static let fixedPayloadBytes = 1 + 8 + 1 + 1 + 8 + 8 * 4 + 8
    /// What a checkpoint entry adds to its agent's sample payload.
    static let checkpointExtraBytes = 8 + 8
    static let sessionLengths = 8...64
    static let shortestPayload = fixedPayloadBytes + 1 + sessionLengths.lowerBound
    static let longestPayload = fixedPayloadBytes + AgentName.maximumLength + sessionLengths.upperBound
    static let payloadLengths = shortestPayload...longestPayload
    static let checkpointPayloadLengths =
        (shortestPayload + checkpointExtraBytes)...(longestPayload + checkpointExtraBytes)
    /// The most a checkpoint may take (about 77,000 agents with the longest names): a larger one
    /// keeps the most recently active agents. Read limits add it to a segment's size.
    package static let maximumCheckpointBytes = 16 << 20
    /// The highest record number believed (record numbers are the log's own), and the highest
    /// interrupt count, as in the protocol. Sequence numbers take the protocol's whole range.
    package static let maximumNumber: UInt64 = 1 << 63

    /// A segment's header and checkpoint: what a rotation writes (to a temporary file, renamed).
    package static func start(firstRecord: UInt64, checkpoint: LogCheckpoint) -> (bytes: [UInt8], agents: Int) {
        var entries: [UInt8] = []
        // The most recently active first, so that a checkpoint cut at its bound keeps them.
        let agents = checkpoint.agents.values.sorted {
            ($0.latest.arrival, $0.latest.agent) > ($1.latest.arrival, $1.latest.agent)
        }
        var written = 0
        for agent in agents {
            var entry: [UInt8] = []
            appendCheckpoint(agent, to: &entry)
            guard entries.count + entry.count <= maximumCheckpointBytes else { break }
            entries += entry
            written += 1
        }
        var bytes = magic
        LittleEndian.append(firstRecord, to: &bytes)
        LittleEndian.append(UInt32(entries.count), to: &bytes)
        LittleEndian.append(CRC32C.checksum(bytes), to: &bytes)
        return (bytes + entries, written)
    }

    /// Appends the framed record of `record` to `bytes`. The caller passes only what the protocol
    /// accepted: a name and session the reader would refuse are a programming error.
    package static func append(_ record: WALRecord, to bytes: inout [UInt8]) {
        var payload: [UInt8] = [sampleKind]
        appendSample(record, to: &payload)
        ChecksummedRecord.append(payload, to: &bytes)
    }

    /// Appends the framed checkpoint entry of `agent` to `bytes`.
    static func appendCheckpoint(_ agent: LogCheckpoint.Agent, to bytes: inout [UInt8]) {
        var payload: [UInt8] = [checkpointKind]
        LittleEndian.append(agent.samplesReceived, to: &payload)
        LittleEndian.append(agent.lastSeen.bitPattern, to: &payload)
        appendSample(agent.latest, to: &payload)
        ChecksummedRecord.append(payload, to: &bytes)
    }

    /// A sample payload after its kind byte.
    private static func appendSample(_ record: WALRecord, to payload: inout [UInt8]) {
        let agent = Array(record.agent.utf8)
        let session = Array(record.session.utf8)
        precondition((1...AgentName.maximumLength).contains(agent.count) && sessionLengths.contains(session.count))
        payload.reserveCapacity(payload.count + fixedPayloadBytes + agent.count + session.count)
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
    }

    /// Segments are named after the number of their first record.
    private static let segmentFiles = SegmentFileName(prefix: "wal")

    package static func segmentName(_ firstRecord: UInt64) -> String { segmentFiles.name(firstRecord) }

    package static func segmentNumber(_ name: String) -> UInt64? { segmentFiles.number(name) }
}
