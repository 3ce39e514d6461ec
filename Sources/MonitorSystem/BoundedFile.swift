#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Whole-file reads with a size cap, for files whose reported size cannot be trusted.
///
/// `/proc` files report a size of 0 and are generated as they are read, so `stat` + one `read` is wrong;
/// reading until end of file is right, and the cap keeps a wrong path (a device, a huge file) from
/// exhausting memory.
package enum BoundedFile {
    package enum Failure: Error, Equatable {
        /// The system refused, with its explanation (`strerror`).
        case system(String)
        /// The file has more than the allowed number of bytes.
        case tooLarge
    }

    package static func read(path: String, limit: Int) throws(Failure) -> [UInt8] {
        let descriptor = RegularFile.open(path, O_RDONLY)
        guard descriptor >= 0 else { throw .system(RegularFile.describe(errno)) }
        defer { _ = close(descriptor) }
        var bytes: [UInt8] = []
        let chunk = 64 * 1024
        // Each read lands in a scratch buffer and is appended with one copy: growing the array by
        // `chunk` zeros first costs a loop over every byte, which a debug build runs element by
        // element (a scrape's /proc reads then took most of its 140 ms, audit 6, 02).
        return try withUnsafeTemporaryAllocation(of: UInt8.self, capacity: chunk) { scratch throws(Failure) in
            while true {
                // Ask for one byte more than the limit so that "exactly at the limit" and "over it" differ.
                let wanted = min(chunk, limit + 1 - bytes.count)
                let got = retryingOnInterrupt {
                    Self.readBytes(descriptor, UnsafeMutableRawBufferPointer(scratch), count: wanted)
                }
                guard got >= 0 else { throw .system(systemMessage(errno)) }
                if got == 0 { return bytes }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: scratch[..<got]))
                if bytes.count > limit { throw .tooLarge }
            }
        }
    }

    private static func retryingOnInterrupt<T: BinaryInteger>(_ call: () -> T) -> T {
        while true {
            let result = call()
            if result < 0 && errno == EINTR { continue }
            return result
        }
    }

    /// `strerror_r` rather than `strerror`, which may share one buffer between threads.
    package static func systemMessage(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard strerror_r(code, &buffer, buffer.count) == 0 else { return "error \(code)" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension BoundedFile {
    /// `read(2)` of up to `count` bytes into the start of `buffer` (`Glibc.read`: inside this type
    /// `read` is ``read(path:limit:)``).
    private static func readBytes(_ descriptor: Int32, _ buffer: UnsafeMutableRawBufferPointer, count: Int) -> Int {
        guard let base = buffer.baseAddress, count <= buffer.count else {
            errno = EINVAL
            return -1
        }
        return Glibc.read(descriptor, base, count)
    }
}
