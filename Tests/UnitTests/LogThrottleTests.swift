import MonitorSystem
import Testing

@Suite("Log throttle")
struct LogThrottleTests {
    @Test("one line per window: the repeats in between are counted and reported with the next line")
    func oneLinePerWindow() {
        let throttle = LogThrottle<String>(limit: 1, window: .seconds(10))
        let start = ContinuousClock.now
        #expect(throttle.check("read", now: start) == .log(suppressedBefore: 0))
        for second in 1...9 {
            #expect(throttle.check("read", now: start + .seconds(second)) == .suppress)
        }
        #expect(throttle.check("read", now: start + .seconds(10)) == .log(suppressedBefore: 9))
        #expect(throttle.check("read", now: start + .seconds(15)) == .suppress)
        // A window with nothing held back reports none; a quiet spell does not carry old counts on.
        #expect(throttle.check("read", now: start + .seconds(60)) == .log(suppressedBefore: 1))
        #expect(throttle.check("read", now: start + .seconds(120)) == .log(suppressedBefore: 0))
    }
}
