#if canImport(Glibc)
    import Glibc
#endif

/// A failed file operation of the agent's spool or the gateway's write-ahead log, naming the
/// file, the operation and the system's reason.
public struct FileOperationError: Error, CustomStringConvertible {
    public var description: String
    /// The system's error number, when the system refused (not when the data was refused).
    public var code: Int32?

    package init(_ path: String, _ operation: String, errno code: Int32 = errno) {
        let reason = operation == "open" ? RegularFile.describe(code) : BoundedFile.systemMessage(code)
        description = "\(path): \(operation) failed: \(reason)"
        self.code = code
    }

    /// The data was refused for now, not for good: the log is at its bound with what it may not
    /// delete yet, and the same write may succeed once room is made.
    public var isFull = false

    package init(_ path: String, refused reason: String, full: Bool = false) {
        description = "\(path): \(reason)"
        isFull = full
    }

    /// The file is not there, or not a regular file (``RegularFile/open(_:_:mode:)`` says `EINVAL`),
    /// or a symbolic link: whatever it held is gone, and trying again will not bring it back.
    public var isGone: Bool {
        code == ENOENT || code == ENOTDIR || code == EINVAL || code == ELOOP || code == EISDIR
    }
}

/// The few POSIX file operations that the agent's spool and the gateway's write-ahead log need,
/// with `EINTR` and short transfers handled.
///
/// Plain system calls rather than Foundation: the daemons avoid full Foundation, and both logs
/// need `fsync(2)` and `ftruncate(2)` on a descriptor they keep open.
package enum DurableFiles {
    /// Creates a log directory (`role`: "spool directory", say) if needed and refuses one that
    /// another user could tamper with: whoever can write to it can plant segments (samples the
    /// daemon would take as its own) or swap files for links. `daemon` names the process's user.
    package static func makeDirectory(_ path: String, role: String, daemon: String) throws(FileOperationError) {
        if mkdir(path, 0o750) != 0, errno != EEXIST { throw FileOperationError(path, "mkdir") }
        var status = stat()
        guard stat(path, &status) == 0 else { throw FileOperationError(path, "stat") }
        guard status.st_mode & S_IFMT == S_IFDIR else {
            throw FileOperationError(path, "use as a directory", errno: ENOTDIR)
        }
        guard status.st_uid == geteuid() else {
            throw FileOperationError(
                path,
                refused:
                    "the \(role) is owned by uid \(status.st_uid), not by the \(daemon)'s uid \(geteuid()); refusing to use it (chown it to the \(daemon)'s user)"
            )
        }
        guard status.st_mode & 0o022 == 0 else {
            throw FileOperationError(
                path,
                refused:
                    "the \(role) is writable by group or others (mode \(String(status.st_mode & 0o7777, radix: 8))); refusing to use it (chmod go-w)"
            )
        }
    }

    /// Names in `directory`, without `.` and `..`, in no particular order.
    package static func list(_ directory: String) throws(FileOperationError) -> [String] {
        guard let handle = opendir(directory) else { throw FileOperationError(directory, "opendir") }
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
    package static func readFile(_ path: String, limit: Int = .max) throws(FileOperationError) -> [UInt8] {
        let descriptor = RegularFile.open(path, O_RDONLY | O_NOFOLLOW)
        guard descriptor >= 0 else { throw FileOperationError(path, "open") }
        defer { close(descriptor) }
        guard let bytes = DescriptorIO.read(descriptor, limit: limit) else { throw FileOperationError(path, "read") }
        return bytes
    }

    package static func openForAppend(_ path: String) throws(FileOperationError) -> Int32 {
        let descriptor = RegularFile.open(path, O_WRONLY | O_APPEND | O_NOFOLLOW)
        guard descriptor >= 0 else { throw FileOperationError(path, "open") }
        return descriptor
    }

    package static func writeAll(_ descriptor: Int32, _ bytes: [UInt8], path: String) throws(FileOperationError) {
        guard bytes.withUnsafeBytes({ DescriptorIO.writeAll(descriptor, $0) }) else {
            throw FileOperationError(path, "write")
        }
    }

    package static func sync(_ descriptor: Int32, path: String) throws(FileOperationError) {
        guard fsync(descriptor) == 0 else { throw FileOperationError(path, "fsync") }
    }

    /// Makes a rename or an unlink in `directory` durable.
    package static func syncDirectory(_ directory: String) throws(FileOperationError) {
        let descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard descriptor >= 0 else { throw FileOperationError(directory, "open") }
        defer { close(descriptor) }
        try sync(descriptor, path: directory)
    }

    /// Writes `bytes` to `path` so that a reader sees the old file or the new one, never a part:
    /// to a temporary file first, then renamed over `path`.
    package static func replace(_ path: String, with bytes: [UInt8], durable: Bool) throws(FileOperationError) {
        let temporary = path + ".tmp"
        // O_NOFOLLOW: a link planted under the temporary name must not redirect the write elsewhere.
        let descriptor = RegularFile.open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, mode: 0o640)
        guard descriptor >= 0 else { throw FileOperationError(temporary, "open") }
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
            throw FileOperationError(path, "rename", errno: code)
        }
    }

    package static func truncateFile(_ path: String, to size: Int) throws(FileOperationError) {
        let descriptor = RegularFile.open(path, O_WRONLY | O_NOFOLLOW)
        guard descriptor >= 0 else { throw FileOperationError(path, "open") }
        defer { close(descriptor) }
        guard ftruncate(descriptor, off_t(size)) == 0 else { throw FileOperationError(path, "truncate") }
        try sync(descriptor, path: path)
    }

    package static func removeFile(_ path: String) throws(FileOperationError) {
        guard unlink(path) == 0 || errno == ENOENT else { throw FileOperationError(path, "unlink") }
    }

    /// Removes the `*.tmp` files among `names` (listed from `directory`): headers and other small
    /// files whose atomic write a crash cut short. One that cannot be removed (not ours: a directory
    /// planted under such a name) goes to `cannotRemove` and is left alone, so that opening goes on.
    package static func removeTemporaryFiles(
        among names: [String], in directory: String, cannotRemove: (_ path: String, FileOperationError) -> Void
    ) {
        for name in names where name.hasSuffix(".tmp") {
            let path = directory + "/" + name
            do throws(FileOperationError) { try removeFile(path) } catch { cannotRemove(path, error) }
        }
    }
}
