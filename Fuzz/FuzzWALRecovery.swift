// libFuzzer entry point for the gateway's write-ahead log recovery over arbitrary segment files:
// the input describes a log directory, which is written to a scratch directory and recovered with
// WALRecovery.recover, as a restarted gateway does. Built by scripts/fuzz.sh (with swift-log).
//
// Input: files of  kind u8 | number u64 LE | length u16 LE | bytes
//   kind % 5 = 0: a segment named after the number (wal-<20 digits>.log) holding the bytes as they are
//              1: the same with a first-version header (MONDWAL1) made here, then the bytes framed
//                 as in 3 (a first-version segment has no checkpoint: all are records)
//              2: the same with a checkpoint header (MONDWAL2) made here: its checkpoint length is
//                 the bytes' first u16 (capped at what follows), the rest after it
//              3: as 2, but the bytes are payloads (u8 length | payload) framed here with the right
//                 checksums, the first byte saying how many of them are the checkpoint: so that the
//                 fuzzer reaches the decoding of records and checkpoint entries
//              4: a leftover <segment>.tmp or another file
// Checked properties: recovery never traps and stays within the fuzzer's memory limit; the
// numbering goes on after every segment kept; each segment kept is a prefix of the
// file written, its records part whole records by their length fields, of which the records
// handed over re-encode, in order, to some and the others are as many as it numbers beyond them
// (the passed-over ones); every agent of the checkpoint has a sample; and a second recovery finds
// the same segments, numbering, records and checkpoint (damage is repaired once).

import GatewayStore
import Logging
import MonitorSystem

@testable import GatewayWALFiles

#if canImport(Glibc)
    import Glibc
#endif

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWALRecovery(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    let directory = walScratchDirectory()
    defer { removeAll(directory) }
    var written: [String: [UInt8]] = [:]
    var offset = 0
    while offset + 11 <= input.count {
        let kind = input[offset] % 5
        let number = LittleEndian.read(UInt64.self, from: input[...], at: offset + 1)
        let length = Int(input[offset + 9]) | Int(input[offset + 10]) << 8
        let bytes = Array(input[(offset + 11)..<min(input.count, offset + 11 + length)])
        offset += 11 + length
        let name = WALFormat.segmentName(number)
        switch kind {
        case 0: written[name] = bytes
        case 1:
            let (first, rest) = framed(bytes)
            written[name] = header(version: 1, number, checkpointBytes: 0) + first + rest
        case 2:
            let claimed = bytes.count >= 2 ? Int(bytes[0]) | Int(bytes[1]) << 8 : 0
            let rest = Array(bytes.dropFirst(2))
            written[name] = header(version: 2, number, checkpointBytes: min(claimed, rest.count)) + rest
        case 3:
            let (checkpoint, records) = framed(bytes)
            written[name] = header(version: 2, number, checkpointBytes: checkpoint.count) + checkpoint + records
        default:
            let other = number % 2 == 0 ? name + ".tmp" : "other-\(number % 8)"
            writeFile(directory + "/" + other, bytes)
        }
    }
    for (name, bytes) in written { writeFile(directory + "/" + name, bytes) }
    let logger = Logger(label: "fuzz") { _ in SwiftLogNoOpLogHandler() }
    func recover() -> (WALRecovery.Result, [WALRecord]) {
        var replayed: [WALRecord] = []
        do {
            let result = try WALRecovery.recover(directory: directory, logger: logger) { replayed.append($0) }
            return (result, replayed)
        } catch {
            fatalError("recovering a writable scratch log failed: \(error)")
        }
    }
    let (result, replayed) = recover()
    var cursor = 0
    for segment in result.segments {
        // (A numbering that reaches 2^63 is the caller's to refuse: WriteAheadLog.open does.)
        guard let original = written[segment.name], segment.bytes <= original.count,
            segment.recordsStart <= segment.bytes, segment.firstRecord >= 1,
            segment.firstRecord <= WALFormat.maximumNumber, result.nextRecord >= segment.firstRecord,
            UInt64(segment.records) <= result.nextRecord - segment.firstRecord
        else {
            fatalError("segment \(segment) is not within its file or the numbering \(result.nextRecord)")
        }
        guard let kept = try? DurableFiles.readFile(directory + "/" + segment.name),
            kept[...] == original.prefix(segment.bytes)
        else {
            fatalError("\(segment.name) on disk is not the first \(segment.bytes) bytes of the file written")
        }
        // Whole records by their length fields, from the records' start to the end of what was kept.
        var position = segment.recordsStart
        var matched = 0
        var others = 0
        while position < segment.bytes {
            guard segment.bytes - position >= ChecksummedRecord.overhead else {
                fatalError("\(segment.name): a part of a record kept at \(position)")
            }
            let length = Int(LittleEndian.read(UInt32.self, from: original[...], at: position))
            guard length <= segment.bytes - position - ChecksummedRecord.overhead else {
                fatalError("\(segment.name): a record at \(position) goes past what was kept")
            }
            let record = original[position..<(position + ChecksummedRecord.overhead + length)]
            var encoded: [UInt8] = []
            if cursor < replayed.count { WALFormat.append(replayed[cursor], to: &encoded) }
            if cursor < replayed.count, record.elementsEqual(encoded) {
                matched += 1
                cursor += 1
            } else {
                others += 1
            }
            position += ChecksummedRecord.overhead + length
        }
        guard matched + others == segment.records else {
            fatalError(
                "\(segment.name): \(matched) records handed over and \(others) others, numbered \(segment.records)")
        }
    }
    guard cursor == replayed.count, result.records == replayed.count else {
        fatalError("\(replayed.count) records handed over, \(cursor) found in the segments kept")
    }
    for (name, agent) in result.checkpoint.agents where agent.latest.agent != name || agent.samplesReceived == 0 {
        fatalError("checkpoint agent \(name) holds \(agent)")
    }
    let (again, replayedAgain) = recover()
    guard again.segments == result.segments, again.nextRecord == result.nextRecord,
        again.checkpoint == result.checkpoint, replayedAgain == replayed
    else {
        fatalError("a second recovery differs: \(again) after \(result)")
    }
    return 0
}

/// A segment header with the right checksum.
private func header(version: Int, _ number: UInt64, checkpointBytes: Int) -> [UInt8] {
    var bytes = version == 1 ? WALFormat.firstVersionMagic : WALFormat.magic
    LittleEndian.append(number, to: &bytes)
    if version == 2 { LittleEndian.append(UInt32(checkpointBytes), to: &bytes) }
    LittleEndian.append(CRC32C.checksum(bytes), to: &bytes)
    return bytes
}

/// `bytes` as `count u8 | (length u8 | payload)...`: each payload framed with its checksum, the
/// first `count` of them making the checkpoint.
private func framed(_ bytes: [UInt8]) -> (checkpoint: [UInt8], records: [UInt8]) {
    guard let count = bytes.first else { return ([], []) }
    var checkpoint: [UInt8] = []
    var records: [UInt8] = []
    var offset = 1
    var index = 0
    while offset < bytes.count {
        let length = Int(bytes[offset])
        let payload = bytes[(offset + 1)..<min(bytes.count, offset + 1 + length)]
        offset += 1 + length
        if index < Int(count) {
            ChecksummedRecord.append(payload, to: &checkpoint)
        } else {
            ChecksummedRecord.append(payload, to: &records)
        }
        index += 1
    }
    return (checkpoint, records)
}

/// The log's directory, made: recovery expects it to exist, as the gateway makes it before.
private func walScratchDirectory() -> String {
    let directory = scratchDirectory("wal")
    mkdir(directory, 0o700)
    return directory
}
