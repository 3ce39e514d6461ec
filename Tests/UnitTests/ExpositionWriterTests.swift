import Testing

@testable import GatewayStore
@testable import MonitorModel

private func text(_ write: (inout PrometheusTextWriter) -> Void) -> String {
    var writer = PrometheusTextWriter()
    write(&writer)
    return String(decoding: writer.bytes, as: UTF8.self)
}

private func formatted(_ value: Double) -> String {
    var bytes: [UInt8] = []
    PrometheusNumber.append(value, to: &bytes)
    return String(decoding: bytes, as: UTF8.self)
}

@Suite struct ExpositionWriterTests {
    @Test func familyHeaderHasHelpThenType() {
        let page = text { $0.family("x_total", help: "Things counted.", type: .counter) }
        #expect(page == "# HELP x_total Things counted.\n# TYPE x_total counter\n")
    }

    @Test func labelValuesEscapeBackslashQuoteAndNewline() {
        let page = text { $0.sample("m", label: "agent_number", #"a\b"c"# + "\nd", value: 1) }
        #expect(page == #"m{agent_number="a\\b\"c\nd"} 1"# + "\n")
    }

    @Test func helpEscapesBackslashAndNewlineButKeepsQuotes() {
        let page = text { $0.family("m", help: #"say "hi" \ "# + "\nbye", type: .gauge) }
        #expect(page == #"# HELP m say "hi" \\ \nbye"# + "\n# TYPE m gauge\n")
    }

    @Test func nonASCIILabelValuesPassThroughAsUTF8() {
        let page = text { $0.sample("m", label: "agent_number", "héllo-ü", value: 2) }
        #expect(page == "m{agent_number=\"héllo-ü\"} 2\n")
    }

    @Test func multipleLabelsKeepTheirOrder() {
        let family = MetricFamily(
            name: "monitord_connections_refused_total", help: "Refused.", type: .counter,
            samples: [MetricSample(3, labels: ["reason": "tls", "listener": "a\"b"]), MetricSample(0)])
        let page = text { $0.family(family) }
        let expected = """
            # HELP monitord_connections_refused_total Refused.
            # TYPE monitord_connections_refused_total counter
            monitord_connections_refused_total{reason="tls",listener="a\\"b"} 3
            monitord_connections_refused_total 0

            """
        #expect(page == expected)
    }

    @Test func integerSamplesAreWrittenExactly() {
        let page = text { $0.sample("c_total", label: "l", "v", count: UInt64.max) }
        #expect(page == "c_total{l=\"v\"} \(UInt64.max)\n")
        #expect(text { $0.sample("c_total", label: "l", "v", count: 0) } == "c_total{l=\"v\"} 0\n")
    }

    @Test(
        arguments: [
            (Double.nan, "NaN"), (Double.infinity, "+Inf"), (-Double.infinity, "-Inf"),
            (0, "0"), (-0.0, "0"), (1, "1"), (-3, "-3"), (58.4, "58.4"), (0.1, "0.1"), (-2.5, "-2.5"),
            (0.00927734375, "0.00927734375"), (706148, "706148"), (1e-5, "1e-05"),
            (0x1p53, "9007199254740992"), (0x1p62 + 0x1p10, "4611686018427388928"), (-0x1p63, "-9223372036854775808"),
            (0x1p63, "9.223372036854776e+18"), (1e20, "1e+20"), (1.5e300, "1.5e+300"),
        ] as [(Double, String)])
    func valuesAreFormattedThePrometheusWay(value: Double, expected: String) {
        #expect(formatted(value) == expected)
    }

    @Test func everyFiniteValueReadsBackExactly() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<10_000 {
            let value = Double(bitPattern: generator.next())
            guard value.isFinite else { continue }
            let text = formatted(value)
            #expect(Double(text) == value, "\(value) written as \(text)")
            #expect(!text.contains(" ") && !text.isEmpty)
        }
    }
}
