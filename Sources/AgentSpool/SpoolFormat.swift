import MonitorModel
import MonitorSystem

/// The on-disk layout of spool segments, written and read without any I/O so that the reader can be
/// fuzzed on its own.
///
/// A segment is a header followed by records, all integers little-endian:
///
///     header:  "MONSPOOL" | version u8 (1) | session length u8 | session (ASCII hex)
///              | first sequence u64 | CRC-32C u32 of the preceding header bytes
///     record:  payload length u32 | CRC-32C u32 of the length bytes and the payload | payload
///     payload: kind u8 (1: sample) | sequence u64 | timestamp f64 | RAM % f64 | CPU % f64
///              | process RAM GiB f64 | interrupts u64
///
/// Fixed-size binary payloads (49 bytes, 57 per record) keep a day of 5 s samples under 1 MiB and
/// round-trip every double exactly. The session is in the header only: a segment never mixes sessions.
package enum SpoolFormat {
    static let magic = Array("MONSPOOL".utf8)
    static let version: UInt8 = 1
    static let sampleKind: UInt8 = 1
    static let samplePayloadBytes = 49
    static let recordOverhead = ChecksummedRecord.overhead
    package static let sampleRecordBytes = recordOverhead + samplePayloadBytes
    /// Header bytes before the session: magic, version, session length.
    static let headerPrefixBytes = magic.count + 2
    static let maximumHeaderBytes = headerPrefixBytes + 64 + 8 + 4
    static let sessionLengths = 8...64
    /// The highest sequence number a spool may hold (2^63): far beyond any real history (2^63
    /// samples at ten a second take 29 billion years), and low enough that numbering on from it,
    /// and any allowance added to it, can never overflow. A file claiming more is damaged or forged.
    package static let maximumSequence: UInt64 = 1 << 63

    /// The header of a segment whose first record will carry `firstSequence`.
    static func header(session: String, firstSequence: UInt64) -> [UInt8] {
        let sessionBytes = Array(session.utf8)
        precondition(isSession(sessionBytes), "sessions are 8 to 64 hexadecimal digits")
        var bytes = magic
        bytes.append(version)
        bytes.append(UInt8(sessionBytes.count))
        bytes += sessionBytes
        appendLittleEndian(firstSequence, to: &bytes)
        appendLittleEndian(CRC32C.checksum(bytes), to: &bytes)
        return bytes
    }

    /// One record holding `sample`, in the framing of ``ChecksummedRecord``.
    static func record(_ sample: Sample) -> [UInt8] {
        var payload: [UInt8] = []
        payload.reserveCapacity(samplePayloadBytes)
        payload.append(sampleKind)
        appendLittleEndian(sample.sequence, to: &payload)
        appendLittleEndian((sample.timestamp ?? 0).bitPattern, to: &payload)
        appendLittleEndian(sample.ramUsagePercent.bitPattern, to: &payload)
        appendLittleEndian(sample.cpuUsagePercent.bitPattern, to: &payload)
        appendLittleEndian(sample.processRAMGigabytes.bitPattern, to: &payload)
        appendLittleEndian(sample.cpuInterrupts, to: &payload)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(sampleRecordBytes)
        ChecksummedRecord.append(payload, to: &bytes)
        return bytes
    }

    static func isSession(_ bytes: some Collection<UInt8>) -> Bool {
        sessionLengths.contains(bytes.count) && bytes.allSatisfy { isHexDigit($0) }
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (0x30...0x39).contains(byte) || (0x61...0x66).contains(byte) || (0x41...0x46).contains(byte)
    }

    static func appendLittleEndian<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        LittleEndian.append(value, to: &bytes)
    }

    static func readLittleEndian<T: FixedWidthInteger>(_: T.Type, from bytes: ArraySlice<UInt8>, at offset: Int) -> T {
        LittleEndian.read(T.self, from: bytes, at: offset)
    }
}
