#if canImport(Glibc)
    import Glibc
#endif

/// The process environment as a dictionary, without Foundation's `ProcessInfo`.
public enum ProcessEnvironment {
    /// A snapshot of `environ`; later `setenv` calls are not reflected, which is what a
    /// value type that is read once at start-up wants.
    public static func current() -> [String: String] {
        var result: [String: String] = [:]
        let table: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = environ
        guard var entry = table else { return result }
        while let pointer = entry.pointee {
            let pair = String(cString: pointer)
            if let separator = pair.firstIndex(of: "=") {
                let key = String(pair[..<separator])
                // The first definition wins, as it does for getenv(3).
                if result[key] == nil { result[key] = String(pair[pair.index(after: separator)...]) }
            }
            entry += 1
        }
        return result
    }
}
