// libFuzzer entry point for the agent's spool segment reader; built by scripts/fuzz.sh.
//
// Checked properties: no crash or hang on any byte string; the intact prefix the reader reports
// is exactly the header followed by the re-encoding of the samples it returned (so nothing is
// invented, altered or skipped); reading that prefix again gives the same samples and no damage;
// and damage is reported if and only if bytes follow the intact prefix.

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
    var encoded = Array(input[0..<header.size])
    for sample in contents.samples { encoded += SpoolFormat.record(sample) }
    guard encoded == Array(input[0..<contents.validBytes]) else {
        fatalError("the samples read do not re-encode to the bytes they were read from")
    }
    guard let again = try? SpoolSegmentReader.read(input[0..<contents.validBytes]), again.damage == nil,
        again.samples == contents.samples
    else {
        fatalError("the intact prefix does not read back the same")
    }
    return 0
}
