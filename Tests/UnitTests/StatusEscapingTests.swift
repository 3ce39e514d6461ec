import Testing

@testable import GatewayStatus

@Suite struct StatusEscapingTests {
    static let hostile = [
        "<script>alert(1)</script>",
        "\"><img src=x onerror=alert(1)>",
        "' onmouseover='alert(1)",
        "a & b &amp; c",
        "Grüße, 東京, 🚀",
        "back\\slash \"quoted\"",
        "line\nbreak\ttab\r\u{0}nul\u{1B}esc\u{7F}del",
        "js\u{2028}line\u{2029}separators",
    ]

    @Test func htmlEscapesEverySpecialCharacter() {
        #expect(Escaping.html("<script>alert(1)</script>") == "&lt;script&gt;alert(1)&lt;/script&gt;")
        #expect(Escaping.html("\"><img src=x>") == "&quot;&gt;&lt;img src=x&gt;")
        #expect(Escaping.html("' onmouseover='x") == "&#39; onmouseover=&#39;x")
        #expect(Escaping.html("a & b &amp; c") == "a &amp; b &amp;amp; c")
        #expect(Escaping.html("nul\u{0}") == "nul\u{FFFD}")
    }

    @Test func htmlKeepsNonASCIIAndPlainText() {
        #expect(Escaping.html("Grüße, 東京, 🚀") == "Grüße, 東京, 🚀")
        #expect(Escaping.html("web-01.example_2") == "web-01.example_2")
        #expect(Escaping.html("") == "")
    }

    @Test(arguments: hostile)
    func htmlOutputHasNoMarkupCharacters(_ text: String) {
        let escaped = Escaping.html(text)
        #expect(!escaped.contains("<") && !escaped.contains(">") && !escaped.contains("\"") && !escaped.contains("'"))
        // Every ampersand starts one of the references the function writes.
        let references = escaped.matches(of: /&(amp|lt|gt|quot|#39);/).count
        #expect(escaped.filter { $0 == "&" }.count == references)
    }
}
