import MonitorSystem

#if canImport(Glibc)
    import Glibc
#endif

/// A failed file operation in the spool, naming the file, the operation and the system's reason.
public struct SpoolError: Error, CustomStringConvertible {
    public var description: String

    init(_ path: String, _ operation: String, errno code: Int32 = errno) {
        let reason = operation == "open" ? RegularFile.describe(code) : BoundedFile.systemMessage(code)
        description = "\(path): \(operation) failed: \(reason)"
    }

    init(_ path: String, refused reason: String) {
        description = "\(path): \(reason)"
    }
}

/// The few POSIX file operations the spool needs, with `EINTR` and short transfers handled.
///
/// Plain system calls rather than Foundation: the daemons avoid full Foundation, and the spool
/// needs `fsync(2)` and `ftruncate(2)` on a descriptor it keeps open.
enum SpoolFiles {
    /// Creates the spool directory if needed and refuses one that another user could tamper with:
    /// whoever can write to it can plant segments (samples the agent would send as its own) or
    /// swap files for links.
    static func makeDirectory(_ path: String) throws(SpoolError) {
        if mkdir(path, 0o750) != 0, errno != EEXIST { throw SpoolError(path, "mkdir") }
        var status = stat()
        guard stat(path, &status) == 0 else { throw SpoolError(path, "stat") }
        guard status.st_mode & S_IFMT == S_IFDIR else { throw SpoolError(path, "use as a directory", errno: ENOTDIR) }
        guard status.st_uid == geteuid() else {
            throw SpoolError(
                path,
                refused:
                    "the spool directory is owned by uid \(status.st_uid), not by the agent's uid \(geteuid()); refusing to use it (chown it to the agent's user)"
            )
        }
        guard status.st_mode & 0o022 == 0 else {
            throw SpoolError(
                path,
                refused:
                    "the spool directory is writable by group or others (mode \(String(status.st_mode & 0o7777, radix: 8))); refusing to use it (chmod go-w)"
            )
        }
    }

    /// Names in `directory`, without `.` and `..`, in no particular order.
    static func list(_ directory: String) throws(SpoolError) -> [String] {
        guard let handle = opendir(directory) else { throw SpoolError(directory, "opendir") }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafePointer(to: entry.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// At most `limit` bytes from the start of the file.
    static func readFile(_ path: String, limit: Int = .max) throws(SpoolError) -> [UInt8] {
        let descriptor = RegularFile.open(path, O_RDONLY | O_NOFOLLOW)
        guard descriptor >= 0 else { throw SpoolError(path, "open") }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while bytes.count < limit {
            let wanted = min(chunk.count, limit - bytes.count)
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, wanted) }
            if count < 0 {
                if errno == EINTR { continue }
                throw SpoolError(path, "read")
            }
            if count == 0 { break }
            bytes += chunk[0..<count]
        }
        return bytes
    }

    static func openForAppend(_ path: String) throws(SpoolError) -> Int32 {
        let descriptor = RegularFile.open(path, O_WRONLY | O_APPEND | O_NOFOLLOW)
        guard descriptor >= 0 else { throw SpoolError(path, "open") }
        return descriptor
    }

    static func writeAll(_ descriptor: Int32, _ bytes: [UInt8], path: String) throws(SpoolError) {
        var written = 0
        while written < bytes.count {
            let count = bytes.withUnsafeBytes { write(descriptor, $0.baseAddress! + written, bytes.count - written) }
            if count < 0 {
                if errno == EINTR { continue }
                throw SpoolError(path, "write")
            }
            written += count
        }
    }

    static func sync(_ descriptor: Int32, path: String) throws(SpoolError) {
        guard fsync(descriptor) == 0 else { throw SpoolError(path, "fsync") }
    }

    /// Makes a rename or an unlink in `directory` durable.
    static func syncDirectory(_ directory: String) throws(SpoolError) {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw SpoolError(directory, "open") }
        defer { close(descriptor) }
        try sync(descriptor, path: directory)
    }

    /// Writes `bytes` to `path` so that a reader sees the old file or the new one, never a part:
    /// to a temporary file first, then renamed over `path`.
    static func replace(_ path: String, with bytes: [UInt8], durable: Bool) throws(SpoolError) {
        let temporary = path + ".tmp"
        // O_NOFOLLOW: a link planted under the temporary name must not redirect the write elsewhere.
        let descriptor = RegularFile.open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, mode: 0o640)
        guard descriptor >= 0 else { throw SpoolError(temporary, "open") }
        do {
            try writeAll(descriptor, bytes, path: temporary)
            if durable { try sync(descriptor, path: temporary) }
        } catch {
            close(descriptor)
            unlink(temporary)
            throw error
        }
        close(descriptor)
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw SpoolError(path, "rename", errno: code)
        }
    }

    static func truncateFile(_ path: String, to size: Int) throws(SpoolError) {
        let descriptor = RegularFile.open(path, O_WRONLY | O_NOFOLLOW)
        guard descriptor >= 0 else { throw SpoolError(path, "open") }
        defer { close(descriptor) }
        guard ftruncate(descriptor, off_t(size)) == 0 else { throw SpoolError(path, "truncate") }
        try sync(descriptor, path: path)
    }

    static func removeFile(_ path: String) throws(SpoolError) {
        guard unlink(path) == 0 || errno == ENOENT else { throw SpoolError(path, "unlink") }
    }
}
