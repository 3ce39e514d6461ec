import MonitorConfig
import Testing

@testable import AgentKit

@Suite("Server failure log")
struct ServerFailureLogTests {
    @Test("a server's failure of a kind is logged once, then again after the quiet period with the count left out")
    func throttlesPerServerAndKind() throws {
        let primary = HostPort(host: "gw1.example", port: 5578)
        let secondary = HostPort(host: "gw2.example", port: 5578)
        var log = ServerFailureLog()
        let start = ContinuousClock.now
        #expect(log.note(primary, kind: "protocol error", now: start) == (true, 0))
        // A server failing at every attempt (a flapping one, a failback every second) stays quiet.
        for second in 1...599 {
            #expect(log.note(primary, kind: "protocol error", now: start + .seconds(second)) == (false, 0))
        }
        // Another kind, or another server, is news.
        #expect(log.note(primary, kind: "refused", now: start + .seconds(10)) == (true, 0))
        #expect(log.note(secondary, kind: "protocol error", now: start + .seconds(10)) == (true, 0))
        // After the quiet period the same failure is logged again, with how many were not.
        #expect(log.note(primary, kind: "protocol error", now: start + .seconds(600)) == (true, 599))
        #expect(log.note(primary, kind: "protocol error", now: start + .seconds(601)) == (false, 0))
    }

    @Test(
        "a server failing after its welcomes (flooding, protocol errors) is known as such for the quiet period; unreachable is not that"
    )
    func failsAfterWelcome() {
        let primary = HostPort(host: "gw1.example", port: 5578)
        let secondary = HostPort(host: "gw2.example", port: 5578)
        var log = ServerFailureLog()
        let start = ContinuousClock.now
        #expect(!log.failsAfterWelcome(primary, now: start))
        _ = log.note(secondary, kind: "IOError", now: start)
        #expect(!log.failsAfterWelcome(secondary, now: start + .seconds(1)))
        _ = log.note(primary, kind: "flooding", now: start)
        #expect(log.failsAfterWelcome(primary, now: start + .seconds(599)))
        #expect(!log.failsAfterWelcome(secondary, now: start + .seconds(1)))
        #expect(!log.failsAfterWelcome(primary, now: start + .seconds(600)))
    }
}
