// libFuzzer entry point for the agent's spool recovery over arbitrary segment AND watermark files:
// the input describes a spool directory, which is written to a scratch directory and opened with
// SampleSpool.open, as a restarted agent does. Built by scripts/fuzz.sh (with swift-log).
//
// Input: records of  kind u8 | sequence u64 LE | length u16 LE | bytes
//   kind % 4 = 0: a segment file named after the sequence (seg-<20 digits>.log)
//              1: the watermark file (acked)     2: a leftover <name>.tmp     3: some other file
// Checked properties: opening never traps, whatever the files hold; it numbers at most 2^63 (so
// numbering on can never overflow); the samples handed over increase and lie above the
// acknowledged watermark; a second open finds the same session, numbering and samples (recovery
// is idempotent: damage is repaired once); and the spool appends and reads back after recovery.

import Logging
import MonitorModel

@testable import AgentSpool

#if canImport(Glibc)
    import Glibc
#endif

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSpoolRecovery(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    let directory = scratchDirectory("spool")
    defer { removeAll(directory) }
    var offset = 0
    while offset + 11 <= input.count {
        let kind = input[offset] % 4
        let sequence = SpoolFormat.readLittleEndian(UInt64.self, from: input[...], at: offset + 1)
        let length = Int(input[offset + 9]) | Int(input[offset + 10]) << 8
        let bytes = Array(input[(offset + 11)..<min(input.count, offset + 11 + length)])
        offset += 11 + length
        let name: String
        switch kind {
        case 0: name = SampleSpool.segmentName(sequence)
        case 1: name = SpoolWatermark.fileName
        case 2: name = SampleSpool.segmentName(sequence) + ".tmp"
        default: name = "other-\(sequence % 8)"
        }
        writeFile(directory + "/" + name, bytes)
    }
    let logger = Logger(label: "fuzz") { _ in SwiftLogNoOpLogHandler() }
    func open() -> (SampleSpool, SampleSpool.Recovery) {
        do {
            return try SampleSpool.open(
                directory: directory, maximumBytes: 64 * 1024, fsyncPolicy: .never, keep: 16, logger: logger,
                newSession: { "0123456789abcdef" })
        } catch {
            fatalError("opening a writable scratch spool failed: \(error)")
        }
    }
    let (spool, recovery) = open()
    guard recovery.highestSequence <= SpoolFormat.maximumSequence else {
        fatalError("recovered numbering \(recovery.highestSequence) is above 2^63")
    }
    guard recovery.acknowledged <= recovery.highestSequence else {
        fatalError("acknowledged \(recovery.acknowledged) above the numbering \(recovery.highestSequence)")
    }
    let sequences = recovery.unacknowledged.map(\.sequence)
    guard zip(sequences, sequences.dropFirst()).allSatisfy({ $0 < $1 }),
        sequences.allSatisfy({ $0 > recovery.acknowledged && $0 <= recovery.highestSequence })
    else {
        fatalError("handed over \(sequences) with acknowledged \(recovery.acknowledged)")
    }
    if let first = sequences.first, let older = recovery.notKeptRanges.last, older.upperBound >= first {
        fatalError("samples left on disk \(recovery.notKeptRanges) overlap those handed over \(sequences)")
    }
    spool.close()
    let (again, second) = open()
    guard second.session == recovery.session, second.highestSequence == recovery.highestSequence,
        second.acknowledged == recovery.acknowledged, second.unacknowledged == recovery.unacknowledged
    else {
        fatalError("a second open differs: \(second) after \(recovery)")
    }
    let next = second.highestSequence + 1
    let sample = Sample(
        sequence: next, timestamp: 1, ramUsagePercent: 1, cpuUsagePercent: 1, processRAMGigabytes: 1,
        cpuInterrupts: 1)
    again.append(sample)
    guard again.samples(after: next - 1, through: next, limit: 1) == [sample] else {
        fatalError("sample \(next) appended after recovery does not read back")
    }
    again.close()
    return 0
}
