import Foundation
import TestSupport
import Testing

/// monitord forwarding to a real Prometheus (Debian's, with its remote-write receiver) on loopback.
@Suite("Remote write", .serialized)
struct RemoteWriteTests {
    /// A Prometheus that only receives (no scrape targets), in a temporary directory.
    final class Receiver: @unchecked Sendable {
        private(set) var server: PrometheusServer
        var process: RunningProcess { server.process }
        var port: Int { server.port }

        init() async throws {
            server = try PrometheusServer.receiving()
            try await Self.waitUntilReady(server)
        }

        private static func waitUntilReady(_ server: PrometheusServer) async throws {
            let port = server.port
            let process = server.process
            let ready = await eventually(timeout: 30, every: .milliseconds(200)) {
                try HTTPClient.get(port: port, path: "/-/ready").status == 200
            }
            guard ready else { throw E2EError("Prometheus did not become ready:\n\(process.output.suffix(2000))") }
        }

        /// Kills the receiver (a receiver that is down refuses connections).
        func kill() async {
            process.signal(SIGKILL)
            _ = await process.waitForExit(timeout: 10)
        }

        /// Starts it again on the same port with what it stored, once ``kill()`` has stopped it.
        func restart() async throws {
            server = try server.restarted()
            try await Self.waitUntilReady(server)
        }

        var writeURL: String { "http://127.0.0.1:\(port)/api/v1/write" }

        /// Raw samples of `selector` over the `window` before `time` (Unix seconds; by default now),
        /// as (milliseconds, value), oldest first.
        func samples(_ selector: String, window: String = "10m", at time: Double? = nil) throws -> [(Int64, Double)] {
            let query = "\(selector)[\(window)]".addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            let at = time.map { "&time=\($0)" } ?? ""
            let response = try HTTPClient.get(port: port, path: "/api/v1/query?query=\(query)\(at)")
            let body =
                response.headers["transfer-encoding"] == "chunked" ? Self.dechunked(response.body) : response.body
            guard response.status == 200,
                let json = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
                let data = json["data"] as? [String: Any], let result = data["result"] as? [[String: Any]]
            else { throw E2EError("query \(selector): \(response.status) \(response.body.prefix(500))") }
            guard let series = result.first, let values = series["values"] as? [[Any]] else { return [] }
            return values.compactMap { pair in
                guard let time = pair.first as? Double, let text = pair.last as? String, let value = Double(text) else {
                    return nil
                }
                return (Int64((time * 1000).rounded()), value)
            }
        }

        /// The body of a chunked response (Prometheus streams large query results), which the
        /// tests' minimal HTTP client hands over as it came.
        static func dechunked(_ raw: String) -> String {
            var bytes = Substring(raw)
            var result = ""
            while let lineEnd = bytes.range(of: "\r\n"),
                let sizeField = bytes[..<lineEnd.lowerBound].split(separator: ";").first,
                let size = Int(sizeField, radix: 16), size > 0
            {
                let start = lineEnd.upperBound
                let utf8 = bytes.utf8
                // A body cut short (the client's receive timeout) ends the decoding, not the test run.
                guard utf8.distance(from: start, to: utf8.endIndex) >= size else { break }
                let end = utf8.index(start, offsetBy: size)
                result += String(bytes[start..<end])
                bytes = bytes[end...].dropFirst(2)
            }
            return result
        }

        /// The label sets of every series of `name`.
        func labelSets(_ name: String) throws -> [[String: String]] {
            let response = try HTTPClient.get(port: port, path: "/api/v1/series?match%5B%5D=\(name)")
            let body =
                response.headers["transfer-encoding"] == "chunked" ? Self.dechunked(response.body) : response.body
            let json = try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
            return (json?["data"] as? [[String: String]]) ?? []
        }

        func stop() { process.signal(SIGKILL) }
    }

    /// The gateway's lines forwarding to `receiver`, with quick retries.
    static func configuration(
        receiver: Receiver, agentTimeout: String = "3s", forgetAfter: String = "30s", flushInterval: String = "200ms",
        extra: String = ""
    ) -> String {
        """
        agent-timeout = \(agentTimeout)
        forget-after = \(forgetAfter)

        [remote-write]
        url = \(receiver.writeURL)
        flush-interval = \(flushInterval)
        min-backoff = 50ms
        max-backoff = 1s
        \(extra)
        """
    }

    /// "remote write stopped: 1234 samples sent, ..." from a stopped monitord's log.
    static func samplesSent(in output: String) -> Int? {
        output.firstMatch(of: /remote write stopped: (\d+) samples sent/).flatMap { Int($0.1) }
    }

    @Test("every sample reaches Prometheus with the agent's own sampling time, under /metrics' names and labels")
    func forwardsWithAgentTimestamps() async throws {
        let receiver = try await Receiver()
        defer { receiver.stop() }
        let gateway = try await GatewayProcess.start(extraConfiguration: Self.configuration(receiver: receiver))
        let agent = try AgentProcess.start(name: "e2e-rw", gatewayPort: gateway.agentPort)
        try await Task.sleep(for: .seconds(4))
        await agent.stop()
        let lastSeen = try #require(
            try gateway.metrics().value("monitord_agent_last_seen_timestamp_seconds", agent: "e2e-rw"))
        let received = try #require(try gateway.metrics().value("monitord_samples_received_total", agent: "e2e-rw"))
        let page = try gateway.metrics().text
        await gateway.stop()
        let sent = try #require(Self.samplesSent(in: gateway.process.output), "\(gateway.process.output)")
        #expect(sent == Int(received) * 4, "every accepted sample forwarded, four series each")

        for family in ExpositionPage.reportFamilies {
            let samples = try receiver.samples("\(family){agent_number=\"e2e-rw\"}")
            #expect(samples.count == Int(received), "\(family): \(samples.count) in Prometheus, \(received) accepted")
            // The newest sample carries the agent's own sampling time, to the millisecond.
            #expect(samples.last?.0 == Int64((lastSeen * 1000).rounded()), "\(family)")
        }
        let labels = try receiver.labelSets("process_ram_usage_percent")
        #expect(labels == [["__name__": "process_ram_usage_percent", "agent_number": "e2e-rw", "job": "monitord"]])
        #expect(page.contains("monitord_remote_write_samples_failed_total 0"))
        let dropped = ExpositionPage(text: page).series.filter {
            $0.name == "monitord_remote_write_samples_dropped_total"
        }
        // One per reason: refused, too_old, out_of_order, queue_full, shutdown, wal_full.
        #expect(dropped.count == 6 && dropped.allSatisfy { $0.value == 0 }, "\(dropped)")
        #expect(!page.contains("monitord_remote_write_last_success_timestamp_seconds 0\n"))
    }

    @Test("a monitord outage while the agent samples is invisible downstream: every sample once, at its time")
    func outageIsInvisibleDownstream() async throws {
        let receiver = try await Receiver()
        defer { receiver.stop() }
        let configuration = Self.configuration(receiver: receiver)
        let first = try await GatewayProcess.start(extraConfiguration: configuration)
        let agent = try AgentProcess.start(name: "e2e-outage", gatewayPort: first.agentPort)
        defer { agent.process.signal(SIGKILL) }
        try await Task.sleep(for: .seconds(3))
        // Freeze the agent for a moment so that the first gateway's count is final when read.
        agent.process.signal(SIGSTOP)
        try await Task.sleep(for: .milliseconds(300))
        let receivedFirst = try #require(
            try first.metrics().value("monitord_samples_received_total", agent: "e2e-outage"))
        await first.stop()
        agent.process.signal(SIGCONT)
        let outageStart = Date().timeIntervalSince1970
        try await Task.sleep(for: .seconds(6))
        let second = try await GatewayProcess.start(
            agentPort: first.agentPort, metricsPort: first.metricsPort, extraConfiguration: configuration)
        let outageEnd = Date().timeIntervalSince1970
        // The agent reconnects with backoff, replays its buffer, then goes on live for a while.
        #expect(
            await eventually(timeout: 20) {
                (try second.metrics().value("monitord_agent_last_seen_timestamp_seconds", agent: "e2e-outage") ?? 0)
                    > outageEnd + 2
            })
        await agent.stop()  // Returns once the agent has said "every sample delivered".
        let page = try second.metrics()
        let lastSeen = try #require(page.value("monitord_agent_last_seen_timestamp_seconds", agent: "e2e-outage"))
        let receivedSecond = try #require(page.value("monitord_samples_received_total", agent: "e2e-outage"))
        await second.stop()
        // The gateways count each sequence number once: together, every sample the agent took.
        let taken = Int(receivedFirst + receivedSecond)
        let forwarded =
            (try #require(Self.samplesSent(in: first.process.output))
                + (try #require(Self.samplesSent(in: second.process.output)))) / 4

        let samples = try receiver.samples("process_ram_usage_percent{agent_number=\"e2e-outage\"}")
        let times = samples.map(\.0)
        let gaps = zip(times.dropFirst(), times).map { $0 - $1 }
        let duringOutage = times.filter { Double($0) / 1000 > outageStart && Double($0) / 1000 < outageEnd }.count
        print(
            "remote-write outage: agent took \(taken) samples, gateways forwarded \(forwarded), Prometheus has \(samples.count) "
                + "(\(duringOutage) taken during the \(Int(outageEnd - outageStart)) s outage); "
                + "span \(Double((times.last ?? 0) - (times.first ?? 0)) / 1000) s, largest gap \(gaps.max() ?? 0) ms")
        #expect(samples.count == taken, "every sample the agent took is downstream")
        #expect(forwarded == taken)
        #expect(Set(times).count == times.count, "nothing twice")
        #expect(duringOutage >= 5, "samples taken while monitord was down arrived with their own times")
        #expect(times.last == Int64((lastSeen * 1000).rounded()), "the agent's last sample arrived, at its time")
        for family in ExpositionPage.reportFamilies.dropFirst() {
            #expect(try receiver.samples("\(family){agent_number=\"e2e-outage\"}").map(\.0) == times, "\(family)")
        }
    }

    @Test("failover between two gateways writing to one receiver: the series goes on without a gap")
    func failoverWithoutGap() async throws {
        let receiver = try await Receiver()
        defer { receiver.stop() }
        let configuration = Self.configuration(receiver: receiver)
        let first = try await GatewayProcess.start(extraConfiguration: configuration)
        let second = try await GatewayProcess.start(extraConfiguration: configuration)
        let agent = try AgentProcess.start(
            name: "e2e-failover-rw", gatewayPort: first.agentPort, servers: [first.agentPort, second.agentPort],
            extraConfiguration: "failback-after = 1h\n")
        defer { agent.process.signal(SIGKILL) }
        #expect(
            await eventually {
                try first.metrics().value("monitord_samples_received_total", agent: "e2e-failover-rw") ?? 0 >= 5
            })
        // The first gateway goes away (a stop: it delivers its remote-write queue first; a SIGKILL
        // would lose what it had acknowledged but not yet forwarded, see docs/scaling.md).
        await first.stop()
        #expect(
            await eventually {
                try second.metrics().value("monitord_samples_received_total", agent: "e2e-failover-rw") ?? 0 >= 10
            }, "agent: \(agent.process.output)")
        await agent.stop()
        await second.stop()
        let account = try #require(FaultTests.Account(log: agent.process.output), "\(agent.process.output)")
        let samples = try receiver.samples("process_ram_usage_percent{agent_number=\"e2e-failover-rw\"}")
        let times = samples.map(\.0)
        let gaps = zip(times.dropFirst(), times).map { $0 - $1 }
        print(
            "FIGURE remote-write failover: agent took \(account.taken), Prometheus has \(samples.count), "
                + "largest gap \(gaps.max() ?? 0) ms at a 200 ms interval")
        #expect(samples.count == account.taken, "every sample the agent took is downstream, once")
        #expect(Set(times).count == times.count)
        // One sample per 200 ms tick; a gap of more than a few ticks would be samples missing.
        #expect((gaps.max() ?? 0) < 1000, "largest gap \(gaps.max() ?? 0) ms")
    }

    /// Issue 12, item 4: an agent back from a three-hour outage replays samples that a stock
    /// Prometheus refuses ("out of bounds": older than its head block allows), in the same batches as
    /// other agents' current samples. Prometheus refuses such a request whole (HTTP 400, nothing
    /// stored); the other agents must not lose a sample for it.
    @Test(
        "an agent replaying three-hour-old samples costs no other agent a sample",
        arguments: [nil, "1h"] as [String?])
    func staleReplayCostsOthersNothing(maxSampleAge: String?) async throws {
        let receiver = try await Receiver()
        defer { receiver.stop() }
        // A long flush interval, so that the stale and the current samples share a batch.
        let gateway = try await GatewayProcess.start(
            extraConfiguration: Self.configuration(
                receiver: receiver, agentTimeout: "30s", forgetAfter: "60s", flushInterval: "2s",
                extra: maxSampleAge.map { "max-sample-age = \($0)" } ?? ""))
        let live = ["rw-live-1", "rw-live-2", "rw-live-3"]
        func connect(_ name: String) throws -> HostilePeer {
            let peer = try HostilePeer(port: gateway.agentPort)
            let session = "5e55" + String(repeating: "0", count: 11) + String(name.suffix(1))
            try peer.send(line: HostileMessages.hello(agent: "\"\(name)\"", session: "\"\(session)\""))
            guard let welcome = peer.nextLine(timeout: 5), welcome.contains("welcome") else {
                throw E2EError("\(name): no welcome")
            }
            return peer
        }
        let peers = try live.map(connect)
        let stale = try connect("rw-stale")
        defer { (peers + [stale]).forEach { $0.close() } }
        // First every live agent's first sample, so that Prometheus' head block starts now (an empty
        // head takes anything).
        let start = Date().timeIntervalSince1970
        for peer in peers { try peer.send(line: HostileMessages.sample(seq: "1", ts: "\(start)")) }
        #expect(await receiver.server.ingests("process_ram_usage_percent", agent: "rw-live-3", timeout: 20))
        // Then, within one flush interval: 30 samples taken three hours ago, and 10 current ones per live agent.
        var lines: [UInt8] = []
        for n in 1...30 {
            lines += Array(HostileMessages.sample(seq: "\(n)", ts: "\(start - 3 * 3600 + Double(n))").utf8) + [10]
        }
        try stale.send(lines)
        for peer in peers {
            var lines: [UInt8] = []
            for n in 2...11 {
                lines += Array(HostileMessages.sample(seq: "\(n)", ts: "\(start + Double(n) * 0.1)").utf8) + [10]
            }
            try peer.send(lines)
        }
        let page = { try gateway.metrics() }
        #expect(
            await eventually(timeout: 20) {
                let metrics = try page()
                return live.allSatisfy { metrics.value("monitord_samples_received_total", agent: $0) == 11 }
                    && metrics.value("monitord_samples_received_total", agent: "rw-stale") == 30
            }, "the gateway accepted every sample")
        let reason = maxSampleAge == nil ? "refused" : "too_old"
        func dropped(_ reason: String) throws -> Double? {
            try page().series.first {
                $0.name == "monitord_remote_write_samples_dropped_total" && $0.labels["reason"] == reason
            }?.value
        }
        #expect(await eventually(timeout: 20) { try dropped(reason) == 30 * 4 }, "\((try? page().text) ?? "")")
        #expect(
            await eventually(timeout: 20) {
                try live.allSatisfy {
                    try receiver.samples("process_ram_usage_percent{agent_number=\"\($0)\"}").count == 11
                }
            })
        for family in ExpositionPage.reportFamilies {
            for agent in live {
                let samples = try receiver.samples("\(family){agent_number=\"\(agent)\"}")
                #expect(samples.count == 11, "\(family) \(agent): every current sample, once")
            }
        }
        #expect(try dropped(maxSampleAge == nil ? "too_old" : "refused") == 0)
        await gateway.stop()
        let log = gateway.process.output
        #expect(log.contains(maxSampleAge == nil ? "refused by the receiver" : "older than max-sample-age"), "\(log)")
    }
}
