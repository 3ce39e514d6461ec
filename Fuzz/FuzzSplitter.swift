// libFuzzer entry point for JSONObjectSplitter; built by scripts/fuzz.sh, not by SwiftPM.
//
// The first input byte chooses how the rest is cut into appends, so the fuzzer explores
// chunk boundaries too. Checked properties: no crash; every object returned starts with `{`,
// ends with `}` and fits the limit; the buffer never exceeds the limit plus one append; and
// the objects do not depend on how the stream was cut.

@testable import MonitorProtocol

private let limit = 256

private func split(_ stream: ArraySlice<UInt8>, chunk: Int) -> ([[UInt8]], FramingError?) {
    var splitter = JSONObjectSplitter(maximumObjectBytes: limit, maximumDepth: 8)
    var objects: [[UInt8]] = []
    var position = stream.startIndex
    while position < stream.endIndex {
        let end = min(stream.endIndex, position + chunk)
        splitter.append(stream[position..<end])
        if splitter.bufferedByteCount > limit + chunk {
            fatalError("splitter holds \(splitter.bufferedByteCount) bytes")
        }
        position = end
        do {
            while let object = try splitter.nextObject() {
                guard object.first == UInt8(ascii: "{"), object.last == UInt8(ascii: "}"), object.count <= limit else {
                    fatalError("malformed object \(object)")
                }
                objects.append(object)
            }
        } catch {
            return (objects, error)
        }
    }
    return (objects, nil)
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSplitter(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    guard let first = input.first else { return 0 }
    let stream = input.dropFirst()
    let whole = split(stream, chunk: max(1, stream.count))
    let pieces = split(stream, chunk: Int(first % 17) + 1)
    if whole.0 != pieces.0 || whole.1 != pieces.1 {
        fatalError("result depends on chunking: \(whole) vs \(pieces)")
    }
    return 0
}
