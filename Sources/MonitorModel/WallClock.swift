#if canImport(Glibc)
    import Glibc
#endif

/// Reads the real-time clock: the time samples are stamped with and the store's notion of "now".
///
/// Kept behind a protocol so the gateway and the agent can be driven by a test clock.
public protocol WallClock: Sendable {
    /// Seconds since the Unix epoch.
    func now() -> Double
}

/// The system's `CLOCK_REALTIME`.
public struct SystemWallClock: WallClock {
    public init() {}

    public func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1_000_000_000
    }
}
