import Synchronization

/// A rendered document kept for a moment, so that many requests for the status page or its JSON
/// within that moment cost one rendering, not one each: rendering every agent takes time, and a
/// burst of requests for `/` must not starve `/metrics` of the CPU (outside audit 3/10).
///
/// The first request after the moment renders while the others wait for it (under the lock) and
/// then take its result; rendering is short and waits for nothing, so the wait is bounded by it.
final class RecentDocument: Sendable {
    /// How old a kept document may be; the status page refreshes every few seconds, so a second's
    /// lag is not visible in it.
    let maximumAge: Double
    private let kept = Mutex<(renderedAt: Double, text: String)?>(nil)

    init(maximumAge: Double = 1) {
        self.maximumAge = maximumAge
    }

    /// The kept document if it was rendered within `maximumAge` before `now` (and not after it, as
    /// a clock stepped back would have it), else a new one from `render`, kept from now on.
    func text(now: Double, render: () -> String) -> String {
        kept.withLock { kept in
            if let kept, kept.renderedAt <= now, now - kept.renderedAt < maximumAge { return kept.text }
            let text = render()
            kept = (now, text)
            return text
        }
    }
}
