#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The read and write loops every file of the daemons goes through: `read(2)` and `write(2)` may
/// return less than asked and may be interrupted (`EINTR`), so each is retried until done.
package enum DescriptorIO {
    /// Reads until end of file, or until `limit` bytes have been read; nil with `errno` set when
    /// `read(2)` fails. Reading until end of file rather than `stat` + one read: `/proc` files
    /// report a size of 0 and are generated as they are read.
    package static func read(_ descriptor: Int32, limit: Int) -> [UInt8]? {
        var bytes: [UInt8] = []
        let chunk = 64 * 1024
        // Each read lands in a scratch buffer and is appended with one copy: growing the array by
        // `chunk` zeros first, or appending a slice, costs a loop over every byte, which a debug
        // build runs element by element (a scrape's /proc reads then took most of its 140 ms,
        // audit 6, 02).
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: chunk) { scratch in
            while bytes.count < limit {
                let wanted = min(chunk, limit - bytes.count)
                let count = Glibc.read(descriptor, scratch.baseAddress, wanted)
                if count < 0 {
                    if errno == EINTR { continue }
                    return nil
                }
                if count == 0 { break }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: scratch[..<count]))
            }
            return bytes
        }
    }

    /// Writes all of `bytes`; false with `errno` set when `write(2)` fails (`EIO` if it wrote
    /// nothing without an error, so that the loop cannot spin).
    package static func writeAll(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        var written = 0
        while written < bytes.count {
            let count = Glibc.write(descriptor, base + written, bytes.count - written)
            if count < 0 {
                if errno == EINTR { continue }
                return false
            }
            if count == 0 {
                errno = EIO
                return false
            }
            written += count
        }
        return true
    }
}
