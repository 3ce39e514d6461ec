import MonitorSystem

#if canImport(Glibc)
    import Glibc
#endif

/// Minimal, Foundation-free access to `/proc`, bounded so that a surprising file cannot make the gateway allocate
/// without limit.
enum ProcFile {
    static let maximumSize = 1 << 20

    /// The whole file, or `nil` if it cannot be opened or read or exceeds ``maximumSize``.
    static func read(_ path: String) -> [UInt8]? {
        try? BoundedFile.read(path: path, limit: maximumSize)
    }

    /// The number of entries in a directory, not counting `.`, `..` or the descriptor used to list it (which would
    /// otherwise show up in `/proc/self/fd` itself).
    static func countEntries(inDirectory path: String) -> UInt64? {
        #if canImport(Glibc)
            guard let directory = opendir(path) else { return nil }
            defer { closedir(directory) }
            let ownName = String(dirfd(directory))
            var count: UInt64 = 0
            while let entry = readdir(directory) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
                }
                if name != "." && name != ".." && name != ownName { count += 1 }
            }
            return count
        #else
            return nil
        #endif
    }

    /// A decimal number of ASCII digits, `nil` if empty, not all digits, or above `UInt64.max`.
    static func parseUnsigned(_ digits: some Collection<UInt8>) -> UInt64? {
        ASCIIDecimal.parse(digits)
    }
}
