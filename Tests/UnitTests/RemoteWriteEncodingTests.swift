import CSnappy
import SwiftProtobuf
import Testing

@testable import MonitorModel
@testable import MonitorRemoteWrite

/// The bytes remote write puts on the wire: protobuf per prometheus/prompb, snappy block format.
@Suite struct RemoteWriteEncodingTests {
    static func pending(_ agent: String, _ sequence: UInt64, ms: Int64) -> PendingSample {
        PendingSample(
            agent: agent, timestampMilliseconds: ms,
            sample: makeSample(sequence, at: Double(ms) / 1000, value: 58.4, interrupts: 706_148), enqueuedAt: 0)
    }

    @Test func generatedCodeWritesTheProtobufWireFormatOfPrompb() throws {
        var label = Prometheus_Label()
        (label.name, label.value) = ("a", "b")
        var sample = Prometheus_Sample()
        (sample.value, sample.timestamp) = (1.0, 1000)
        var series = Prometheus_TimeSeries()
        (series.labels, series.samples) = ([label], [sample])
        var request = Prometheus_WriteRequest()
        request.timeseries = [series]
        let bytes: [UInt8] = try request.serializedBytes()
        // Computed by hand from prompb's field numbers: WriteRequest.timeseries=1 (len), TimeSeries.labels=1,
        // samples=2 (len), Label.name=1, value=2 (len), Sample.value=1 (fixed64 double), timestamp=2 (varint).
        let expected: [UInt8] = [
            0x0A, 0x16,  // timeseries, 22 bytes
            0x0A, 0x06, 0x0A, 0x01, 0x61, 0x12, 0x01, 0x62,  // labels { name: "a" value: "b" }
            0x12, 0x0C, 0x09, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F, 0x10, 0xE8, 0x07,  // samples { 1.0, 1000 }
        ]
        #expect(bytes == expected)
    }

    @Test func eachAgentSampleBecomesFourSeriesNamedAndLabelledAsOnMetrics() throws {
        let encoder = RemoteWriteEncoder(externalLabels: [
            MetricLabel(name: "job", value: "monitord"), MetricLabel(name: "Zone", value: "z1"),
        ])
        let batch = [
            Self.pending("web-1", 1, ms: 1_700_000_000_000), Self.pending("db", 7, ms: 1_700_000_000_100),
            Self.pending("web-1", 2, ms: 1_700_000_005_000),
        ]
        let request = encoder.request(for: batch)
        #expect(request.timeseries.count == 8)
        let first = request.timeseries[0]
        // Sorted by name, bytewise: upper case before "__name__", as the protocol requires.
        #expect(first.labels.map(\.name) == ["Zone", "__name__", "agent_number", "job"])
        #expect(first.labels.map(\.value) == ["z1", "process_ram_usage_percent", "web-1", "monitord"])
        #expect(first.samples.map(\.timestamp) == [1_700_000_000_000, 1_700_000_005_000])
        #expect(first.samples.map(\.value) == [58.4, 58.4])
        let names = request.timeseries.map { $0.labels.first { $0.name == "__name__" }!.value }
        #expect(
            names == [
                "process_ram_usage_percent", "process_cpu_usage_percent", "process_ram_gigabytes",
                "process_cpu_interrupts_total",
            ] + [
                "process_ram_usage_percent", "process_cpu_usage_percent", "process_ram_gigabytes",
                "process_cpu_interrupts_total",
            ])
        #expect(request.timeseries[3].samples.first?.value == 706_148)
        #expect(request.timeseries[4].labels.first { $0.name == "agent_number" }?.value == "db")
    }

    @Test func bodyIsSnappyCompressedProtobufThatDecodesBack() throws {
        let encoder = RemoteWriteEncoder(externalLabels: [])
        let batch = (1...500).map {
            Self.pending("agent-\($0 % 7)", UInt64($0), ms: 1_700_000_000_000 + Int64($0) * 200)
        }
        let body = encoder.body(for: batch)
        let raw: [UInt8] = try encoder.request(for: batch).serializedBytes()
        #expect(body.count < raw.count / 2, "repetitive labels compress well: \(body.count) of \(raw.count)")

        var length = 0
        let lengthStatus = body.withUnsafeBufferPointer { input in
            input.withMemoryRebound(to: CChar.self) { snappy_uncompressed_length($0.baseAddress, $0.count, &length) }
        }
        #expect(lengthStatus == SNAPPY_OK)
        #expect(length == raw.count)
        var decompressed = [UInt8](repeating: 0, count: length)
        let status = body.withUnsafeBufferPointer { input in
            decompressed.withUnsafeMutableBufferPointer { output in
                input.withMemoryRebound(to: CChar.self) { input in
                    output.withMemoryRebound(to: CChar.self) { output in
                        var outputLength = output.count
                        return snappy_uncompress(input.baseAddress, input.count, output.baseAddress, &outputLength)
                    }
                }
            }
        }
        #expect(status == SNAPPY_OK)
        #expect(decompressed == raw)
        let decoded = try Prometheus_WriteRequest(serializedBytes: decompressed)
        #expect(decoded.timeseries.count == 7 * 4)
        #expect(decoded.timeseries.reduce(0) { $0 + $1.samples.count } == 500 * 4)
    }

    @Test func snappyRoundTripsEmptyAndIncompressibleInput() {
        var generator = SystemRandomNumberGenerator()
        for input in [[], (0..<100_000).map { _ in UInt8.random(in: 0...255, using: &generator) }] as [[UInt8]] {
            let compressed = Snappy.compress(input)
            var output = [UInt8](repeating: 0, count: input.count + 1)
            var outputLength = output.count
            let status = compressed.withUnsafeBufferPointer { source in
                output.withUnsafeMutableBufferPointer { target in
                    source.withMemoryRebound(to: CChar.self) { source in
                        target.withMemoryRebound(to: CChar.self) { target in
                            snappy_uncompress(source.baseAddress, source.count, target.baseAddress, &outputLength)
                        }
                    }
                }
            }
            #expect(status == SNAPPY_OK)
            #expect(Array(output[0..<outputLength]) == input)
        }
    }

    @Test func seriesOrderGuardDropsSamplesThatWouldGoBackInTime() {
        var order = SeriesOrderGuard()
        let first = order.filter([Self.pending("a", 1, ms: 1000), Self.pending("b", 1, ms: 500)], now: 10)
        #expect(first.kept.count == 2 && first.rejected == 0)
        let second = order.filter(
            [Self.pending("a", 2, ms: 1000), Self.pending("a", 3, ms: 900), Self.pending("b", 2, ms: 600)], now: 11)
        #expect(second.kept.map(\.timestampMilliseconds) == [600])
        #expect(second.rejected == 2)
    }

    @Test func basicAuthUsesStandardBase64() {
        #expect(RemoteWriteAuthorization.base64(Array("Aladdin:open sesame".utf8)) == "QWxhZGRpbjpvcGVuIHNlc2FtZQ==")
        #expect(RemoteWriteAuthorization.base64(Array("ab".utf8)) == "YWI=")
        #expect(RemoteWriteAuthorization.base64(Array("abc".utf8)) == "YWJj")
        #expect(RemoteWriteAuthorization.base64([]) == "")
    }
}
