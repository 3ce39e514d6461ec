#if canImport(Glibc)
    import Glibc
#endif

/// Checks that a file holding a secret is not open to other users, as ssh checks private keys.
///
/// Allowed: the owner, and the file's group reading it when that group is the daemon's own (the
/// packaged layout `root:monitor-agent 0640`). Anything else earns a warning naming the mode.
enum SecretFileMode {
    /// Why `path` exposes its secret, or nil when it does not (or cannot be examined).
    static func exposure(of path: String) -> String? {
        var status = stat()
        guard stat(path, &status) == 0 else { return nil }
        let mode = status.st_mode & 0o777
        let rendered = "0" + String(mode, radix: 8)
        if mode & 0o007 != 0 {
            return "is accessible to all users (mode \(rendered)); chmod o-rwx \(path)"
        }
        if mode & 0o020 != 0 {
            return "is writable by its group (mode \(rendered)); chmod g-w \(path)"
        }
        if mode & 0o040 != 0, status.st_gid != getegid() {
            return "is readable by group \(status.st_gid), not this daemon's (mode \(rendered)); chmod g-r \(path)"
        }
        return nil
    }
}
