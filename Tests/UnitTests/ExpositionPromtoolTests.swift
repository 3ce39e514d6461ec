import Foundation
import TestSupport
import Testing

@testable import GatewayStore
@testable import MonitorModel

@Suite(.enabled(if: Promtool.isInstalled, "needs Debian's prometheus package"))
struct ExpositionPromtoolTests {
    @Test func pageOfSeveralAgentsPassesWithOnlyTheKnownComplaint() throws {
        let store = AgentStore(agentTimeout: .seconds(30), forgetAfter: .seconds(300))
        let awkward = #"we"ird\name"# + "\nline"
        for (index, name) in ["web-01", awkward, store.nextReportFormatName(), "db-ü"].enumerated() {
            _ = store.connected(agent: name, session: "s", dialect: .native, remoteAddress: "x", now: 1000)
            _ = store.record(makeSample(UInt64(index + 1), at: 999.25), agent: name, session: "s", now: 1000)
        }
        _ = store.connected(agent: "silent", session: nil, dialect: .reportFormat, remoteAddress: "x", now: 1000)
        let late = store.connected(agent: "late", session: nil, dialect: .reportFormat, remoteAddress: "x", now: 900)
        _ = store.record(makeSample(0), agent: "late", session: nil, now: 900)
        store.disconnected(agent: "late", connection: late.id, now: 901)
        let extra = MetricFamily(
            name: "monitord_connections_refused_total", help: "Connections refused, by reason.", type: .counter,
            samples: [MetricSample(1, labels: ["reason": "tls"]), MetricSample(0, labels: ["reason": "limit"])])

        let snapshot = store.snapshot(now: 1000)
        #expect(snapshot.count == 6)
        let result = try Promtool.check(
            MetricsPage.render(store: snapshot, process: ProcessMetrics.current(), extra: [extra]))
        #expect(result.output == Promtool.acceptedComplaint + "\n")
        #expect(result.status == 3)
    }

    @Test func pageWithoutAgentsPassesCleanly() throws {
        // promtool lints only families that have samples, so the unit complaint needs a fresh agent to appear.
        let result = try Promtool.check(MetricsPage.render(store: [], process: nil))
        #expect(result.output == "")
        #expect(result.status == 0)
    }

    @Test func checkerIsRealAndRejectsABrokenPage() throws {
        // Guards the two tests above against a checker that accepts anything.
        let broken = Array("# TYPE x gauge\nx{agent_number=\"a\" 1\n".utf8)
        let result = try Promtool.check(broken)
        #expect(result.status != 0)
        #expect(result.output != Promtool.acceptedComplaint + "\n")
    }
}
