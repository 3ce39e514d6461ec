import Testing

@testable import AgentKit
@testable import DaemonKit
@testable import MonitorModel

@Suite("Backoff")
struct BackoffTests {
    @Test("the agent's reconnects: 0.5 s doubling to a 4 s cap, each wait in [d/2, d], reset after success")
    func agentSchedule() {
        var lowest = Backoff()
        var highest = Backoff()
        let low = (0..<6).map { _ in lowest.next(random: 0) }
        let high = (0..<6).map { _ in highest.next(random: 1) }
        #expect(low == [250, 500, 1000, 2000, 2000, 2000].map { Duration.milliseconds($0) })
        #expect(high == [500, 1000, 2000, 4000, 4000, 4000].map { Duration.milliseconds($0) })
        highest.reset()
        #expect(highest.next(random: 1) == .milliseconds(500))
    }

    @Test("random draws stay within [d/2, d]")
    func jitterBounds() {
        var backoff = Backoff()
        for attempt in 0..<20 {
            let ceiling = min(0.5 * Double(1 << attempt), 4)
            let delay = backoff.next().inSeconds
            #expect(
                delay >= ceiling / 2 - 0.001 && delay <= ceiling + 0.001, "\(delay) not in [\(ceiling / 2), \(ceiling)]"
            )
        }
    }

    @Test("hostile inputs: huge or negative attempts, randoms outside 0...1, a cap below the start, no start")
    func boundaries() {
        let backoff = Backoff(initial: 0.1, cap: 2)
        #expect(backoff.delay(attempt: .max, random: 0.5) == 1.5)
        #expect(backoff.delay(attempt: -5, random: 1) == 0.1)
        #expect(backoff.delay(attempt: 0, random: -3) == 0.05)
        #expect(backoff.delay(attempt: 0, random: 7) == 0.1)
        #expect(Backoff(initial: 3, cap: 1).delay(attempt: 9, random: 1) == 3)
        #expect(Backoff(initial: 0, cap: 1).delay(attempt: .max, random: 1) == 0)
        #expect(Backoff(initial: .nan, cap: 1).delay(attempt: 3, random: 1) == 0)
        var unbounded = Backoff(initial: .greatestFiniteMagnitude, cap: .infinity)
        #expect(unbounded.delay(attempt: 1, random: 1).isInfinite)
        _ = unbounded.next(random: 1)
        #expect(unbounded.next(random: 1) == .milliseconds(1_000_000_000_000_000), "held, not trapped")
    }
}
