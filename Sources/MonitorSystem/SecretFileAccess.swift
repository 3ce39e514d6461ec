#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Checks a file of secrets (the gateway's `tokens-file`, say) for access by others, as ssh does for
/// its keys: a secrets file readable by the group or the world leaks its credentials to any local
/// user. It is a warning, not a refusal, so that a permissive file does not stop a running service.
public enum SecretFileAccess {
    /// The warning to log for `path`, or nil when only its owner can read or write it (or it cannot be examined:
    /// loading the file reports that).
    public static func warning(for path: String, key: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        let mode = info.st_mode & 0o777
        guard mode & 0o077 != 0 else { return nil }
        let octal = String(mode, radix: 8)
        return "\(key) \(path) is accessible by its group or others (mode 0\(octal)); "
            + "the secrets it holds should be readable by the daemon alone: chmod 600 \(path)"
    }
}
