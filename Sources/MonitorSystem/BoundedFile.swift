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
        // One byte more than the limit, so that "exactly at the limit" and "over it" differ.
        let (wanted, overflow) = limit.addingReportingOverflow(1)
        guard let bytes = DescriptorIO.read(descriptor, limit: overflow ? limit : wanted) else {
            throw .system(systemMessage(errno))
        }
        if bytes.count > limit { throw .tooLarge }
        return bytes
    }

    /// `strerror_r` rather than `strerror`, which may share one buffer between threads.
    package static func systemMessage(_ code: Int32) -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard strerror_r(code, &buffer, buffer.count) == 0 else { return "error \(code)" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
