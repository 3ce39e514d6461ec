import CFileSystem

#if canImport(Glibc)
    import Glibc
#endif

/// Reads files under a `/proc`-like root: the agent's collectors and the gateway's `process_*` families.
///
/// The root is a parameter so that tests (and containers with procfs mounted elsewhere) can point it at
/// another directory. Reads are bounded (``BoundedFile``): `/proc` files report a size of 0, and the cap
/// keeps a wrong root from exhausting memory.
public struct ProcFileReader: Sendable {
    /// No file the daemons read comes near this; it only stops a wrong root from exhausting memory.
    public static let maximumFileBytes = 4 << 20

    public var root: String

    public init(root: String = "/proc") {
        self.root = root
    }

    /// The whole file `root/relativePath`, read until end of file, as text.
    public func read(_ relativePath: String) throws(ProcFileError) -> String {
        let path = path(relativePath)
        let bytes = try bytes(relativePath)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ProcFileError(file: path, message: "file is not valid UTF-8")
        }
        return text
    }

    /// The whole file `root/relativePath`, read until end of file.
    package func bytes(_ relativePath: String) throws(ProcFileError) -> [UInt8] {
        let path = path(relativePath)
        do {
            return try BoundedFile.read(path: path, limit: Self.maximumFileBytes)
        } catch {
            switch error {
            case .tooLarge: throw ProcFileError(file: path, message: "file is larger than 4 MiB")
            case .system(let reason): throw ProcFileError(file: path, message: "cannot read: \(reason)")
            }
        }
    }

    /// The number of entries in the directory `root/relativePath`, not counting `.`, `..` or the
    /// descriptor used to list it (which would otherwise show up in `/proc/self/fd` itself).
    package func countEntries(inDirectory relativePath: String) throws(ProcFileError) -> UInt64 {
        let path = path(relativePath)
        guard let directory = opendir(path) else {
            throw ProcFileError(file: path, message: "cannot list: \(BoundedFile.systemMessage(errno))")
        }
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
    }

    /// The number of open descriptors listed in `root/relativePath`, a `/proc/PID/fd` directory: from
    /// the directory's size where the kernel reports it (Linux 6.2 and later), else by listing it.
    ///
    /// Listing costs the kernel a dentry per descriptor: with 10,000 agents connected it was 40 % of
    /// what a scrape of `/metrics` cost (docs/performance.md). The size is one `stat`.
    package func countDescriptors(inDirectory relativePath: String) throws(ProcFileError) -> UInt64 {
        if let count = descriptorCountFromSize(relativePath) { return count }
        return try countEntries(inDirectory: relativePath)
    }

    /// The size of `root/relativePath` as its number of entries, when it is a directory of procfs that
    /// reports one (`/proc/PID/fd` since Linux 6.2; 0 before): `nil` otherwise. Any other directory's
    /// size is bytes of storage, not entries, hence the check of the file system.
    package func descriptorCountFromSize(_ relativePath: String) -> UInt64? {
        let path = path(relativePath)
        var fileSystem = statfs()
        var status = stat()
        guard statfs(path, &fileSystem) == 0, fileSystem.f_type == PROC_SUPER_MAGIC,
            stat(path, &status) == 0, (status.st_mode & S_IFMT) == S_IFDIR, status.st_size > 0
        else { return nil }
        return UInt64(status.st_size)
    }

    /// The path of `relativePath` under the root.
    package func path(_ relativePath: String) -> String {
        root.hasSuffix("/") ? root + relativePath : root + "/" + relativePath
    }
}
