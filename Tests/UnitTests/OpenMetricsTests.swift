import Testing

@testable import GatewayStore

/// Content negotiation and the OpenMetrics 1.0.0 rendering of `/metrics`.
@Suite struct OpenMetricsTests {
    /// What Debian's Prometheus 2.42 sends when it scrapes.
    static let prometheusAccept =
        "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
        + "text/plain;version=0.0.4;q=0.5,*/*;q=0.1"

    @Test func negotiation() {
        #expect(ExpositionFormat.negotiate(accept: Self.prometheusAccept) == .openMetrics)
        #expect(ExpositionFormat.negotiate(accept: nil) == .text)
        #expect(ExpositionFormat.negotiate(accept: "*/*") == .text)
        #expect(ExpositionFormat.negotiate(accept: "text/plain") == .text)
        #expect(ExpositionFormat.negotiate(accept: "application/openmetrics-text") == .openMetrics)
        #expect(ExpositionFormat.negotiate(accept: "Application/OpenMetrics-Text; Version=\"1.0.0\"") == .openMetrics)
        #expect(ExpositionFormat.negotiate(accept: "application/openmetrics-text;version=0.0.1") == .text)
        #expect(ExpositionFormat.negotiate(accept: "application/openmetrics-text;q=0.2, text/plain") == .text)
        #expect(ExpositionFormat.negotiate(accept: "application/openmetrics-text;q=0") == .text)
        #expect(ExpositionFormat.negotiate(accept: "application/openmetrics-text;q=banana") == .text)
        #expect(ExpositionFormat.negotiate(accept: ",,;;=;q=,") == .text)
        #expect(
            ExpositionFormat.openMetrics.contentType == "application/openmetrics-text; version=1.0.0; charset=utf-8")
    }

    @Test func countersLoseTotalInTheFamilyNameOnly() {
        var writer = PrometheusTextWriter(format: .openMetrics)
        writer.family("process_cpu_interrupts_total", help: "number of \"cpu\" interrupts since boot", type: .counter)
        writer.sample("process_cpu_interrupts_total", label: "agent_number", "a", count: 7)
        writer.family("process_cpu_seconds_total", help: "CPU.", type: .counter)
        writer.family("process_resident_memory_bytes", help: "RSS.", type: .gauge)
        writer.finish()
        let text = String(decoding: writer.bytes, as: UTF8.self)
        #expect(
            text == """
                # HELP process_cpu_interrupts number of \\"cpu\\" interrupts since boot
                # TYPE process_cpu_interrupts counter
                process_cpu_interrupts_total{agent_number="a"} 7
                # HELP process_cpu_seconds CPU.
                # TYPE process_cpu_seconds counter
                # UNIT process_cpu_seconds seconds
                # HELP process_resident_memory_bytes RSS.
                # TYPE process_resident_memory_bytes gauge
                # UNIT process_resident_memory_bytes bytes
                # EOF

                """)
    }

    @Test func theTextFormatIsUnchanged() {
        var writer = PrometheusTextWriter()
        writer.family("process_cpu_seconds_total", help: "say \"hi\"", type: .counter)
        writer.finish()
        #expect(
            String(decoding: writer.bytes, as: UTF8.self)
                == "# HELP process_cpu_seconds_total say \"hi\"\n# TYPE process_cpu_seconds_total counter\n")
    }
}
