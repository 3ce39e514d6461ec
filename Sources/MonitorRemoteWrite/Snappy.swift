import CSnappy

/// Snappy block compression, the encoding remote write 1.0 mandates for request bodies.
///
/// Debian's libsnappy is the reference implementation (the one Prometheus' Go port is tested
/// against), so the bytes are exactly what every receiver expects; this is a thin, allocation-aware
/// wrapper around its C API.
enum Snappy {
    /// The block-format compression of `input` (not the framing format: remote write uses blocks).
    static func compress(_ input: [UInt8]) -> [UInt8] {
        let capacity = snappy_max_compressed_length(input.count)
        return [UInt8](unsafeUninitializedCapacity: capacity) { output, initialized in
            var length = capacity
            let status = input.withUnsafeBufferPointer { source in
                source.withMemoryRebound(to: CChar.self) { source in
                    output.withMemoryRebound(to: CChar.self) { output in
                        snappy_compress(source.baseAddress, source.count, output.baseAddress, &length)
                    }
                }
            }
            // SNAPPY_BUFFER_TOO_SMALL cannot happen with the library's own bound; anything else is a broken library.
            precondition(status == SNAPPY_OK, "snappy_compress failed with status \(status.rawValue)")
            initialized = length
        }
    }
}
