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
enum BoundedFile {
    enum Failure: Error, Equatable {
        /// The system refused, with its explanation (`strerror`).
        case system(String)
        /// The file has more than the allowed number of bytes.
        case tooLarge
    }

    static func read(path: String, limit: Int) throws(Failure) -> [UInt8] {
        let descriptor = retryingOnInterrupt { open(path, O_RDONLY | O_CLOEXEC) }
        guard descriptor >= 0 else { throw .system(systemMessage(errno)) }
        defer { _ = close(descriptor) }
        var bytes: [UInt8] = []
        let chunk = 64 * 1024
        while true {
            // Ask for one byte more than the limit so that "exactly at the limit" and "over it" differ.
            let wanted = min(chunk, limit + 1 - bytes.count)
            let oldCount = bytes.count
            bytes.append(contentsOf: repeatElement(0, count: wanted))
            let got = bytes.withUnsafeMutableBytes { buffer in
                retryingOnInterrupt { Glibc.read(descriptor, buffer.baseAddress! + oldCount, wanted) }
            }
            guard got >= 0 else { throw .system(systemMessage(errno)) }
            bytes.removeLast(wanted - got)
            if got == 0 { return bytes }
            if bytes.count > limit { throw .tooLarge }
        }
    }

    private static func retryingOnInterrupt<T: BinaryInteger>(_ call: () -> T) -> T {
        while true {
            let result = call()
            if result < 0 && errno == EINTR { continue }
            return result
        }
    }

    static func systemMessage(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "error \(code)" }
        return String(cString: text)
    }
}
