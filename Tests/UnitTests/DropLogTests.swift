import Testing

@testable import MonitorRemoteWrite

@Suite("Remote write's drop log lines")
struct DropLogTests {
    @Test("wal_full drops merged into one line name every record dropped since the previous line (audit 8/05)")
    func mergedWALFullLineNamesTheWholeRange() throws {
        var log = DropLog(interval: 10)
        // The first drop is logged at once; three more segments go within the interval.
        let logged = log.record(3048, reason: .walFull, records: 1...762, now: 0)
        let first = try #require(logged)
        #expect(first.samples == 3048 && first.records == 1...762)
        #expect(log.record(3048, reason: .walFull, records: 763...1524, now: 1) == nil)
        #expect(log.record(3048, reason: .walFull, records: 1525...2286, now: 2) == nil)
        #expect(log.record(3048, reason: .walFull, records: 2287...3048, now: 3) == nil)
        let due = log.due(now: 11)
        let merged = try #require(due.first)
        #expect(merged.samples == 3 * 3048)
        #expect(merged.records == 763...3048, "the three segments dropped since the first line, not the last alone")
        #expect(merged.text == "dropped 9144 samples \(DropReason.walFull.explanation) (records 763...3048)")
        // A later line starts its range afresh.
        let next = log.record(400, reason: .walFull, records: 5001...5100, now: 30)
        let later = try #require(next)
        #expect(later.records == 5001...5100)
    }

    @Test("other reasons keep their latest detail and name no records")
    func otherReasonsKeepTheirDetail() throws {
        var log = DropLog(interval: 10)
        _ = log.record(4, reason: .refused, detail: "out of bounds", now: 0)
        #expect(log.record(8, reason: .refused, detail: "too old", now: 1) == nil)
        let lines = log.due(now: 20)
        let line = try #require(lines.first)
        #expect(line.samples == 8 && line.detail == "too old" && line.records == nil)
        #expect(line.text == "dropped 8 samples \(DropReason.refused.explanation) (too old)")
    }
}
