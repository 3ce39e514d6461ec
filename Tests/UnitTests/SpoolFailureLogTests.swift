import Testing

@testable import AgentSpool

/// A disk hovering at full (issue 11, audit finding agent/07): writes fail and succeed by turns, and
/// the spool must say so once when it starts failing and once when it has recovered, never per sample.
@Suite("Spool failure log")
struct SpoolFailureLogTests {
    let start = ContinuousClock.now

    func at(_ milliseconds: Int) -> ContinuousClock.Instant { start.advanced(by: .milliseconds(milliseconds)) }

    @Test("a disk flapping between full and not full for ten minutes gives one failing line and no recovery")
    func flappingIsOneLine() {
        var log = SpoolFailureLog()
        var lines: [SpoolFailureLog.Line] = []
        // A sample every 100 ms; every other write fails.
        for tick in 0..<6000 {
            let line =
                tick % 2 == 0
                ? log.failed("write(seg): No space left on device", now: at(tick * 100))
                : log.succeeded(now: at(tick * 100))
            if let line { lines.append(line) }
        }
        #expect(lines == [.failing("write(seg): No space left on device")])
        #expect(log.failedWrites == 3000 && log.isFailing)
    }

    @Test("recovery is said once writes have worked for the recovery time, with the count of failures")
    func recoveryIsOneLine() {
        var log = SpoolFailureLog()
        #expect(log.failed("ENOSPC", now: at(0)) == .failing("ENOSPC"))
        #expect(log.failed("ENOSPC", now: at(100)) == nil)
        #expect(log.succeeded(now: at(200)) == nil)
        #expect(log.succeeded(now: at(10_099)) == nil)
        #expect(log.succeeded(now: at(10_100)) == .recovered(failures: 2))
        #expect(log.succeeded(now: at(10_200)) == nil)
        #expect(!log.isFailing)
    }

    @Test("a new episode soon after a logged one is counted, not logged; after the quiet time it is logged")
    func episodesAreRateLimited() {
        var log = SpoolFailureLog()
        #expect(log.failed("a", now: at(0)) == .failing("a"))
        #expect(log.succeeded(now: at(10_000)) == .recovered(failures: 1))
        #expect(log.failed("b", now: at(20_000)) == nil)
        #expect(log.succeeded(now: at(30_000)) == nil)
        #expect(log.failed("c", now: at(61_000)) == .failing("c"))
        #expect(log.failedWrites == 3)
    }
}
