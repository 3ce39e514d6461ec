import Synchronization

/// Lets through at most `limit` log lines per key (a refusal reason, an event) in each `window`, and
/// says how many it held back when the next window opens, so that a flood of bad or churning peers
/// cannot flood the journal. Shared by the gateway's refusal lines and remote write's.
public final class LogThrottle<Key: Hashable & Sendable>: Sendable {
    private struct Window {
        var start: ContinuousClock.Instant
        var logged = 0
        var suppressed = 0
    }

    private let limit: Int
    private let window: Duration
    private let windows = Mutex<[Key: Window]>([:])

    public init(limit: Int = 10, window: Duration = .seconds(10)) {
        self.limit = limit
        self.window = window
    }

    public enum Verdict: Equatable, Sendable {
        /// Log it; `suppressedBefore` lines of this reason were held back in the previous window.
        case log(suppressedBefore: Int)
        case suppress
    }

    public func check(_ reason: Key, now: ContinuousClock.Instant = .now) -> Verdict {
        windows.withLock { windows in
            var current = windows[reason] ?? Window(start: now)
            var suppressedBefore = 0
            if now - current.start >= window {
                suppressedBefore = current.suppressed
                current = Window(start: now)
            }
            defer { windows[reason] = current }
            guard current.logged < limit else {
                current.suppressed += 1
                return .suppress
            }
            current.logged += 1
            return .log(suppressedBefore: suppressedBefore)
        }
    }
}
