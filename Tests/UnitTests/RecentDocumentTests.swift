import Testing

@testable import GatewayKit

/// The status page and its JSON, rendered at most once a second however many ask (outside audit 3/10:
/// 16 parallel requests for `/` with 3,000 agents slowed a `/metrics` scrape to 13 s).
@Suite("Recent document")
struct RecentDocumentTests {
    /// A renderer that numbers its renderings: "page 1", "page 2", ...
    final class Renderings {
        private(set) var count = 0

        func render() -> String {
            count += 1
            return "page \(count)"
        }
    }

    @Test("requests within the maximum age share one rendering; the next one after it renders again")
    func oneRenderingPerMoment() {
        let document = RecentDocument(maximumAge: 1)
        let renderings = Renderings()
        #expect(document.text(now: 100, render: renderings.render) == "page 1")
        for step in 1...9 {
            #expect(document.text(now: 100 + Double(step) / 10, render: renderings.render) == "page 1")
        }
        #expect(renderings.count == 1)
        #expect(document.text(now: 101, render: renderings.render) == "page 2")
        #expect(renderings.count == 2)
    }

    @Test("a clock stepped back never serves a document from the future")
    func clockSteppedBack() {
        let document = RecentDocument(maximumAge: 1)
        let renderings = Renderings()
        _ = document.text(now: 100, render: renderings.render)
        #expect(document.text(now: 99.5, render: renderings.render) == "page 2")
    }
}
