#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Opening a path the daemons read or write as a file, refusing anything that is not one.
///
/// A named pipe in place of a configuration, tokens, certificate or spool file would block `open(2)`
/// until a writer appears: the daemon would hang at start, in `--check-config`, or on SIGHUP, and no
/// longer stop on SIGTERM. So the open never blocks (`O_NONBLOCK`, meaningless for regular files),
/// and a descriptor that is not a regular file (a FIFO, a device, a socket, a directory) is closed
/// again with `EINVAL`, before anything reads from it.
package enum RegularFile {
    /// A descriptor for `path` opened with `flags` (and `mode` when creating), or -1 with `errno` set;
    /// `EINVAL` when the path is not a regular file.
    package static func open(_ path: String, _ flags: Int32, mode: UInt32 = 0) -> Int32 {
        var descriptor: Int32
        repeat {
            descriptor = Glibc.open(path, flags | O_NONBLOCK | O_CLOEXEC, mode_t(mode))
        } while descriptor < 0 && errno == EINTR
        guard descriptor >= 0 else { return -1 }
        var status = stat()
        guard fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFREG else {
            _ = close(descriptor)
            errno = EINVAL
            return -1
        }
        return descriptor
    }

    /// The reason for a failed ``open(_:_:mode:)``: `EINVAL` is its refusal of what is not a regular file.
    package static func describe(_ code: Int32) -> String {
        code == EINVAL ? "not a regular file" : BoundedFile.systemMessage(code)
    }
}
