import LoadGenCore
import Testing

@Suite struct LatencySummaryTests {
    @Test func nearestRankPercentilesOfOneToHundred() {
        var values = (1...100).reversed().map { UInt32($0) }
        let summary = LatencySummary(sorting: &values)
        #expect(summary.count == 100)
        #expect(summary.p50 == 50)
        #expect(summary.p90 == 90)
        #expect(summary.p99 == 99)
        #expect(summary.max == 100)
    }

    @Test func singleValueIsEveryPercentile() {
        var values: [UInt32] = [7]
        let summary = LatencySummary(sorting: &values)
        #expect([summary.p50, summary.p90, summary.p99, summary.max] == [7, 7, 7, 7])
    }

    @Test func emptySampleIsZero() {
        var values: [UInt32] = []
        let summary = LatencySummary(sorting: &values)
        #expect(summary.count == 0)
        #expect(summary.max == 0)
    }
}
