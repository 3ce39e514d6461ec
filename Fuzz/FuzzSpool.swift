// libFuzzer entry point for the agent's spool segment reader; built by scripts/fuzz.sh.
//
// Checked properties: no crash or hang on any byte string; the prefix the reader reports it read
// is exactly the header followed by whole records, in which the samples it returned re-encode, in
// order, to records of the prefix, and the others are as many as it says it passed over (so
// nothing is invented or altered); reading that prefix again gives the same samples and no damage;
// and damage is reported if and only if bytes follow the prefix.

import MonitorSystem

@testable import AgentSpool

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSpool(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    guard let contents = try? SpoolSegmentReader.read(input[...]) else { return 0 }
    guard let header = try? SpoolSegmentReader.header(input[...]) else {
        fatalError("read accepted a header that header() refuses")
    }
    guard contents.validBytes <= input.count, contents.validBytes >= header.size else {
        fatalError("intact prefix \(contents.validBytes) outside \(header.size)...\(input.count)")
    }
    guard (contents.damage == nil) == (contents.validBytes == input.count) else {
        fatalError(
            "damage \(String(describing: contents.damage)) with \(contents.validBytes) of \(input.count) bytes intact")
    }
    if let damage = contents.damage, damage.offset != contents.validBytes {
        fatalError("damage reported at \(damage.offset), intact prefix ends at \(contents.validBytes)")
    }
    let recordSize = ChecksummedRecord.overhead + SpoolFormat.samplePayloadBytes
    guard (contents.validBytes - header.size) % recordSize == 0 else {
        fatalError("the prefix read is not whole records")
    }
    var matched = 0
    var passedOver = 0
    for start in stride(from: header.size, to: contents.validBytes, by: recordSize) {
        let record = Array(input[start..<(start + recordSize)])
        if matched < contents.samples.count, record == SpoolFormat.record(contents.samples[matched]) {
            matched += 1
        } else {
            passedOver += 1
        }
    }
    guard matched == contents.samples.count, passedOver == contents.skipped else {
        fatalError(
            "the samples read do not re-encode to records of the prefix: \(matched) of \(contents.samples.count) found, \(passedOver) others for \(contents.skipped) passed over"
        )
    }
    guard let again = try? SpoolSegmentReader.read(input[0..<contents.validBytes]), again.damage == nil,
        again.samples == contents.samples
    else {
        fatalError("the intact prefix does not read back the same")
    }
    return 0
}
