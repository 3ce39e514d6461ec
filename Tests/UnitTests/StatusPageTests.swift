import Foundation
import Testing

@testable import GatewayStatus
@testable import GatewayStore

@Suite struct StatusPageHTMLTests {
    /// The rows of the page as (agent attribute, [data-key: cell text]), read with regular expressions: enough for
    /// a page this builder writes, whose structure the tests fix.
    func rows(_ html: String) -> [(agent: String, cells: [String: String])] {
        html.matches(of: /<tr data-agent="([^"]*)" class="[^"]*">(.*?)<\/tr>/.dotMatchesNewlines()).map { row in
            var cells: [String: String] = [:]
            for cell in row.2.matches(of: /<td data-key="([^"]*)"[^>]*>(.*?)<\/td>/.dotMatchesNewlines()) {
                cells[String(cell.1)] = String(cell.2).replacing(/<[^>]*>/, with: "")
            }
            return (String(row.1), cells)
        }
    }

    @Test func everyAgentHasARowWithItsStateAndValues() throws {
        let now = 1_000_100.0
        let html = StatusPage.render(statusFixture(now: now), now: now, version: "1.2.3")
        #expect(html.hasPrefix("<!DOCTYPE html>\n<html lang=\"en\">"))
        #expect(html.contains(#"<b data-count="total">3</b> agents"#))
        #expect(html.contains(#"<b data-count="up">1</b> up"#))
        #expect(html.contains(#"<b data-count="late">1</b> late"#))
        #expect(html.contains(#"<b data-count="down">1</b> down"#))
        #expect(html.contains(#"<span class="version">1.2.3</span>"#))
        let table = rows(html)
        #expect(table.map(\.agent) == ["agent_1", "db-01", "web-01"])
        #expect(table.allSatisfy { $0.cells.count == StatusPage.columns.count })
        let web = try #require(table.first { $0.agent == "web-01" }?.cells)
        #expect(web["state"] == "up")
        #expect(web["remoteAddress"] == "[::1]:40000")
        #expect(web["protocol"] == "native")
        #expect(web["connectedSince"] == "1 min")
        #expect(web["lastSeen"] == "2 s ago")
        #expect(web["ram"] == "58.4 %")
        #expect(web["cpu"] == "2.8 %")
        #expect(web["rss"] == "9.5 MiB")
        #expect(web["interrupts"] == "706148")
        #expect(web["samples"] == "1")
        let late = try #require(table.first { $0.agent == "db-01" }?.cells)
        #expect(late["state"] == "late")
        #expect(late["lastSeen"] == "1 min ago")
        let down = try #require(table.first { $0.agent == "agent_1" }?.cells)
        #expect(down["state"] == "down")
        #expect(down["protocol"] == "report format")
        #expect(down["connectedSince"] == "\u{2014}")
        #expect(html.contains(#"<tr data-agent="db-01" class="state-late">"#))
        // Values older than agent-timeout are greyed out.
        #expect(html.contains(#"<td data-key="ram" class="num stale">10.0 %</td>"#))
        #expect(html.contains(#"<td data-key="ram" class="num">58.4 %</td>"#))
        #expect(html.contains(#"title="transport: tcp""#))
    }

    @Test func hostileTextIsEscapedEverywhere() throws {
        let names = StatusEscapingTests.hostile
        let agents = names.map { name in
            AgentSnapshot(
                name: name, dialect: .reportFormat, remoteAddress: name, connected: true, connectedSince: 1,
                lastSeen: 1,
                latest: nil, samplesReceived: 3, up: true, fresh: false)
        }
        let html = StatusPage.render(agents, now: 2, version: "<i>v</i>")
        // The only script element is the page's own.
        #expect(html.matches(of: /<script/).count == 1)
        #expect(!html.contains("<img") && !html.contains("<i>"))
        #expect(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"))
        #expect(html.contains(#"data-agent="&quot;&gt;&lt;img src=x onerror=alert(1)&gt;""#))
        #expect(html.contains("&#39; onmouseover=&#39;alert(1)"))
        #expect(html.contains("a &amp; b &amp;amp; c"))
        #expect(html.contains("Grüße, 東京, 🚀"))
        // Each agent still has exactly one row of the right width: no value broke out of its attribute or cell.
        let table = rows(html)
        #expect(table.count == names.count)
        #expect(table.allSatisfy { $0.cells.count == StatusPage.columns.count })
    }

    @Test func emptyPageSaysSoAndStillCarriesItsScript() {
        let html = StatusPage.render([], now: 0)
        #expect(html.contains(#"<tr class="empty"><td colspan="11">No agent has connected yet"#))
        #expect(html.contains(#"<b data-count="total">0</b>"#))
        #expect(html.contains("fetch(\"/api/v1/agents\""))
        #expect(!html.contains("data-agent=\""))
        // Self-contained: nothing is loaded from anywhere.
        #expect(
            !html.contains("src=") && !html.contains("<link") && !html.contains("http://") && !html.contains("https://")
        )
    }

    @Test func rowsWithoutEmptyMarkerWhenAgentsExist() {
        let html = StatusPage.render(statusFixture(), now: 1_000_100)
        #expect(html.contains(#"<tr class="empty" hidden="">"#))
    }
}
