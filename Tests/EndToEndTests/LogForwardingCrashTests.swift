import Foundation
import TestSupport
import Testing

/// Issue 12, item 3: with `acknowledge = durable`, remote write forwards from the write-ahead log,
/// so a sample acknowledged and not yet forwarded when monitord is SIGKILLed still reaches the
/// receiver after the restart. Against Debian's Prometheus with its remote-write receiver.
@Suite("Remote write from the log survives SIGKILL", .serialized)
struct LogForwardingCrashTests {
    static let batch = 400

    static func configuration(receiver: RemoteWriteTests.Receiver, directory: String) -> String {
        """
        agent-timeout = 3s
        forget-after = 60s
        acknowledge = durable
        wal-directory = \(directory)/wal
        wal-fsync = always

        [remote-write]
        url = \(receiver.writeURL)
        flush-interval = 200ms
        max-samples-per-send = \(batch)
        min-backoff = 50ms
        max-backoff = 500ms
        timeout = 1s
        """
    }

    /// A family without labels, from a page.
    static func total(_ page: ExpositionPage, _ name: String, reason: String? = nil) -> Double? {
        page.series.first { $0.name == name && $0.labels == (reason.map { ["reason": $0] } ?? [:]) }?.value
    }

    @Test(
        "receiver down, monitord SIGKILLed with samples unforwarded: after the restart every one arrives, once, in order"
    )
    func acknowledgedAndUnforwardedSurvivesKill() async throws {
        let receiver = try await RemoteWriteTests.Receiver()
        defer { receiver.stop() }
        let directory = try makeTemporaryDirectory()
        let configuration = Self.configuration(receiver: receiver, directory: directory)
        let first = try await GatewayProcess.start(extraConfiguration: configuration, directory: directory)
        let agent = try AgentProcess.start(name: "e2e-walfwd", gatewayPort: first.agentPort, interval: "100ms")
        defer { agent.process.signal(SIGKILL) }
        #expect(await receiver.server.ingests("process_ram_usage_percent", agent: "e2e-walfwd", timeout: 30))

        // The receiver goes down; samples pile up in the log, acknowledged (durable) and unforwarded.
        // (Killed, not stopped with SIGSTOP: a stopped Prometheus later stores the requests monitord
        // gave up waiting for, and then refuses their retries as out of order.)
        await receiver.kill()
        try await Task.sleep(for: .seconds(4))
        let before = try first.metrics()
        let sentBeforeKill = try #require(Self.total(before, "monitord_remote_write_samples_sent_total"))
        let waiting = try #require(Self.total(before, "monitord_remote_write_queue_length"))
        let acknowledgedBeforeKill = try #require(
            before.value("monitord_samples_received_total", agent: "e2e-walfwd"))
        #expect(waiting >= 4 * 20, "at least 20 agent samples wait unforwarded: \(waiting)")
        first.process.signal(SIGKILL)
        _ = await first.process.waitForExit(timeout: 10)

        try await Task.sleep(for: .seconds(1))
        let second = try await GatewayProcess.start(
            agentPort: first.agentPort, metricsPort: first.metricsPort, extraConfiguration: configuration,
            directory: directory)
        try await Task.sleep(for: .seconds(1))
        try await receiver.restart()
        try await Task.sleep(for: .seconds(3))
        await agent.stop()  // Returns once the agent has said "every sample delivered".
        let page = try second.metrics()
        let taken = try #require(page.value("monitord_samples_received_total", agent: "e2e-walfwd"))
        #expect(
            await eventually(timeout: 30) {
                let page = try second.metrics()
                return Self.total(page, "monitord_remote_write_queue_length") == 0
                    && Self.total(page, "monitord_remote_write_oldest_unforwarded_age_seconds") == 0
            })
        let after = try second.metrics()
        for reason in ["refused", "out_of_order", "too_old", "queue_full", "wal_full"] {
            #expect(
                Self.total(after, "monitord_remote_write_samples_dropped_total", reason: reason) == 0, "\(reason)")
        }
        await second.stop()
        let sentAfter = try #require(RemoteWriteTests.samplesSent(in: second.process.output))

        let samples = try receiver.samples("process_ram_usage_percent{agent_number=\"e2e-walfwd\"}")
        let times = samples.map(\.0)
        let sent = Int(sentBeforeKill) + sentAfter
        print(
            "log forwarding across SIGKILL: agent's samples \(Int(taken)) (\(Int(acknowledgedBeforeKill)) acknowledged before the kill, "
                + "\(Int(waiting) / 4) of them unforwarded), Prometheus has \(samples.count); "
                + "remote-write samples sent \(sent) (\(Int(sentBeforeKill)) before the kill), \(sent - 4 * samples.count) sent twice"
        )
        #expect(
            samples.count == Int(taken), "every sample the agent took, acknowledged before the kill or after, arrived")
        #expect(times == times.sorted() && Set(times).count == times.count, "in order, each timestamp once")
        #expect(
            (0...(2 * Self.batch)).contains(sent - 4 * Int(taken)),
            "nothing sent twice beyond the request in flight at the kill and the one whose position was being written: \(sent) sent for \(Int(taken)) agent samples"
        )
        for family in ExpositionPage.reportFamilies.dropFirst() {
            #expect(try receiver.samples("\(family){agent_number=\"e2e-walfwd\"}").map(\.0) == times, "\(family)")
        }
    }

    /// Audit 8, finding 06: right after a restart over a backlog that fits one request, the whole
    /// backlog was read into the batch in flight, so the queue length said 0, and the age was that
    /// of the backlog's first arrival before the kill, although the docs count it from the restart.
    @Test("restarted over an unforwarded backlog: the queue length counts it, its age starts at the restart")
    func backlogMetricsAfterRestart() async throws {
        let directory = try makeTemporaryDirectory()
        // Nothing listens there: every attempt fails and the backlog stays.
        let configuration = """
            agent-timeout = 3s
            forget-after = 60s
            acknowledge = durable
            wal-directory = \(directory)/wal
            wal-fsync = always

            [remote-write]
            url = http://127.0.0.1:\(try freeLoopbackPort())/api/v1/write
            flush-interval = 100ms
            max-samples-per-send = 4000
            min-backoff = 50ms
            max-backoff = 200ms
            timeout = 1s
            """
        let first = try await GatewayProcess.start(extraConfiguration: configuration, directory: directory)
        let agent = try AgentProcess.start(name: "e2e-backlog", gatewayPort: first.agentPort, interval: "100ms")
        #expect(
            await eventually(timeout: 30) {
                (try first.metrics().value("monitord_samples_received_total", agent: "e2e-backlog") ?? 0) >= 30
            })
        agent.process.signal(SIGKILL)
        _ = await agent.process.waitForExit(timeout: 10)
        try await Task.sleep(for: .seconds(3))
        let before = try first.metrics()
        let received = try #require(before.value("monitord_samples_received_total", agent: "e2e-backlog"))
        #expect(Self.total(before, "monitord_remote_write_queue_length") == 4 * received, "all of it waits")
        first.process.signal(SIGKILL)
        _ = await first.process.waitForExit(timeout: 10)

        let second = try await GatewayProcess.start(extraConfiguration: configuration, directory: directory)
        defer { second.process.signal(SIGKILL) }
        let restarted = Date()
        try await Task.sleep(for: .seconds(1))
        let after = try second.metrics()
        let since = Date().timeIntervalSince(restarted)
        #expect(
            Self.total(after, "monitord_remote_write_queue_length") == 4 * received,
            "the backlog read into the request being retried still waits")
        let age = try #require(Self.total(after, "monitord_remote_write_oldest_unforwarded_age_seconds"))
        #expect(age > 0 && age <= since + 0.5, "the age is counted from the restart (\(since) s ago): \(age)")
    }
}
