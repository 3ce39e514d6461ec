#if canImport(Glibc)
    import Glibc
#endif

/// This host's name, which `name =` defaults to.
public enum HostName {
    /// gethostname(2), or "localhost" when it fails.
    public static var current: String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
