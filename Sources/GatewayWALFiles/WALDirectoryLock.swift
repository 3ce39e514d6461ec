package import MonitorSystem
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The claim of one process on a `wal-directory`: an exclusive `flock(2)` on the directory itself,
/// held for as long as the log is open, and its pid written into the directory's `lock` file.
///
/// Two gateways on one directory would each start a segment of the same name, by writing a
/// temporary file and renaming it over the other's: one keeps appending to a file no longer in
/// the directory, and what it acknowledged is gone at the next start. So the lock is taken before
/// anything in the directory is read or written, recovery included, and a second gateway refuses
/// to start, naming the holder's pid (read from the `lock` file, which is there for that message
/// only).
///
/// The lock is the directory's, not the file's: a lock on a file is gone for everyone else once
/// the file is deleted or replaced (a cleanup script, a careless `rm`), and a second gateway would
/// then lock a new file of the same name and start. A directory cannot be replaced while it holds
/// the log's segments without the log going with it.
///
/// The kernel releases a `flock` when its descriptor is closed, and a process's descriptors on any
/// death, `kill -9` included: a lock left behind is never stale. A `lock` file that is not a
/// regular file (a FIFO, a directory, a symbolic link) is refused without blocking.
package final class WALDirectoryLock: Sendable {
    /// The pid file's name in the directory; not a segment's, so recovery passes it by.
    package static let fileName = "lock"
    /// At most this much of the file is read for the holder's pid.
    static let pidBytes = 32

    /// The locked directory's descriptor; -1 once released.
    private let descriptor: Mutex<Int32>

    /// Takes the lock of `directory` (which must exist) or throws why not: held by another process,
    /// or a lock file that cannot be one.
    package init(directory: String) throws(FileOperationError) {
        let path = directory + "/" + Self.fileName
        var descriptor: Int32
        repeat {
            descriptor = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        } while descriptor < 0 && errno == EINTR
        guard descriptor >= 0 else { throw FileOperationError(directory, "open") }
        var locked: Int32
        repeat { locked = flock(descriptor, LOCK_EX | LOCK_NB) } while locked != 0 && errno == EINTR
        guard locked == 0 else {
            let code = errno
            _ = close(descriptor)
            guard code == EWOULDBLOCK else { throw FileOperationError(directory, "flock", errno: code) }
            let holder = Self.holder(path)
            throw FileOperationError(
                "wal-directory \(directory)",
                refused:
                    "in use by another monitord (\(holder.map { "pid \($0)" } ?? "pid unknown")): two gateways on one log would overwrite each other's segments"
            )
        }
        do {
            try Self.writePid(path)
        } catch {
            _ = close(descriptor)
            throw error
        }
        self.descriptor = Mutex(descriptor)
    }

    /// Writes this process's pid into the lock file, creating it; refuses one that is not a
    /// regular file.
    private static func writePid(_ path: String) throws(FileOperationError) {
        // O_NOFOLLOW: a link planted in place of the file must not have the gateway create or write
        // a file elsewhere; RegularFile refuses a FIFO or a directory without blocking on it.
        let file = RegularFile.open(path, O_RDWR | O_CREAT | O_NOFOLLOW, mode: 0o640)
        guard file >= 0 else {
            if errno == ELOOP {
                throw FileOperationError(
                    path, refused: "is a symbolic link, not the write-ahead log's lock file; move it away")
            }
            throw FileOperationError(path, "open")
        }
        defer { _ = close(file) }
        // The pid is only for the message above: failing to write it is no reason not to run.
        let pid = Array("\(getpid())\n".utf8)
        if ftruncate(file, 0) == 0 {
            _ = pid.withUnsafeBytes { pwrite(file, $0.baseAddress, $0.count, 0) }
        }
    }

    /// Throws unless `directory` still names the directory this lock holds. The lock follows the
    /// directory, but files are created by path: after a `mv` of the directory (and a new one
    /// made at its path, by hand or by a second gateway, which the lock cannot refuse) the log
    /// would go on in two places, and what it acknowledged would not be where the next start
    /// reads. Asked before anything is created in the directory and before each fsync round's
    /// acknowledgements. Does nothing once released.
    package func verify(_ directory: String) throws(FileOperationError) {
        var held = stat()
        let descriptor = self.descriptor.withLock { $0 }
        guard descriptor >= 0, fstat(descriptor, &held) == 0 else { return }
        var named = stat()
        guard stat(directory, &named) == 0, named.st_dev == held.st_dev, named.st_ino == held.st_ino else {
            throw FileOperationError(
                "wal-directory \(directory)",
                refused:
                    "is no longer the directory this monitord locked at start (moved, renamed or replaced while it ran): the log cannot go on where the next start would not read it; restart monitord"
            )
        }
    }

    /// Gives the directory up (a graceful stop, once the log is closed); later calls do nothing.
    package func release() {
        let descriptor = self.descriptor.withLock { descriptor in
            defer { descriptor = -1 }
            return descriptor
        }
        if descriptor >= 0 { _ = close(descriptor) }
    }

    /// The pid the holder wrote, if its file holds one.
    private static func holder(_ path: String) -> Int32? {
        let file = RegularFile.open(path, O_RDONLY | O_NOFOLLOW)
        guard file >= 0 else { return nil }
        defer { _ = close(file) }
        var bytes = [UInt8](repeating: 0, count: pidBytes)
        let count = bytes.withUnsafeMutableBytes { pread(file, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        let text = String(decoding: bytes[..<count], as: UTF8.self)
        guard let line = text.split(separator: "\n").first, let pid = Int32(line), pid > 0 else { return nil }
        return pid
    }

    deinit {
        release()
    }
}
