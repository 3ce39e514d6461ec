import LoadGenCore
import Testing

/// The load generator against the real gateway, in process, on loopback.
@Suite(.serialized) struct LoadGeneratorTests {
    @Test func nativeAgentsAtAnIntervalAreAllAcknowledged() async throws {
        let report = try await withInProcessGateway { gateway in
            try await LoadGenerator(
                plan: LoadPlan(
                    port: gateway.agentPort, agents: 5, pace: .interval(.milliseconds(100)),
                    duration: .seconds(1), rampUp: .milliseconds(100))
            ).run()
        }
        #expect(report.isClean, "\(report.summary)")
        #expect(report.connected == 5)
        // 5 agents × 10 samples per second × about 1 s, give or take the random first offsets.
        #expect(report.samplesSent >= 30)
        #expect(report.samplesAcknowledged == report.samplesSent)
        #expect(report.latency.count > 0)
        #expect(report.latency.p50 <= report.latency.p99)
        #expect(report.latency.p99 <= report.latency.max)
    }

    @Test func floodKeepsTheWindowFullAndReportsThroughput() async throws {
        let report = try await withInProcessGateway { gateway in
            try await LoadGenerator(
                plan: LoadPlan(
                    port: gateway.agentPort, agents: 2, pace: .flood(window: 16),
                    duration: .milliseconds(500), rampUp: .zero)
            ).run()
        }
        #expect(report.isClean, "\(report.summary)")
        #expect(report.acknowledgedInWindow > 100, "\(report.summary)")
        #expect(report.samplesAcknowledged == report.samplesSent)
        // Native throughput is what the gateway acknowledged within the window, over the window.
        #expect(report.windowSeconds > 0.3, "\(report.summary)")
        #expect(report.throughput == Double(report.acknowledgedInWindow) / report.windowSeconds)
    }

    @Test func reportFormatAgentsStayConnected() async throws {
        let report = try await withInProcessGateway { gateway in
            try await LoadGenerator(
                plan: LoadPlan(
                    port: gateway.agentPort, agents: 3, dialect: .reportFormat, pace: .interval(.milliseconds(100)),
                    duration: .milliseconds(500), rampUp: .zero)
            ).run()
        }
        #expect(report.isClean, "\(report.summary)")
        #expect(report.connected == 3)
        #expect(report.samplesSent >= 6)
        #expect(report.samplesAcknowledged == 0)
    }

    @Test func refusedAgentsCountAsErrorsWithTheGatewaysReason() async throws {
        // "agent_<digits>" is reserved for the report's peers, so the gateway refuses the hello.
        let report = try await withInProcessGateway { gateway in
            try await LoadGenerator(
                plan: LoadPlan(
                    port: gateway.agentPort, agents: 2, pace: .interval(.milliseconds(100)),
                    duration: .milliseconds(300), rampUp: .zero, namePrefix: "agent_")
            ).run()
        }
        #expect(!report.isClean)
        #expect(report.errors == 2)
        #expect(report.errorReasons.keys.contains { $0.contains("reserved") }, "\(report.errorReasons)")
    }

    @Test func connectionRefusedIsAnError() async throws {
        // Port 1 on loopback: nothing listens there on a test machine, so connect is refused.
        let report = try await LoadGenerator(
            plan: LoadPlan(port: 1, agents: 1, duration: .milliseconds(100), rampUp: .zero)
        ).run()
        #expect(report.connectFailures == 1)
        #expect(report.errors == 1)
        #expect(!report.isClean)
    }

    /// The gateway's `max-connections-per-address` counts report-format peers for as long as they are
    /// connected, so it tells from which address each connection came: six peers, at most two per address.
    @Test(arguments: [(sourceAddresses: 1, accepted: false), (sourceAddresses: 3, accepted: true)])
    func sourceAddressesSpreadConnectionsOverLoopbackAddresses(sourceAddresses: Int, accepted: Bool) async throws {
        let report = try await withInProcessGateway(configure: { $0.maxConnectionsPerAddress = 2 }) { gateway in
            try await LoadGenerator(
                plan: LoadPlan(
                    port: gateway.agentPort, agents: 6, dialect: .reportFormat, pace: .interval(.milliseconds(100)),
                    duration: .milliseconds(500), rampUp: .zero, sourceAddresses: sourceAddresses)
            ).run()
        }
        #expect(report.isClean == accepted, "\(report.summary)")
        if accepted {
            #expect(report.connected == 6)
            #expect(report.openAtEnd == 6)
        }
    }

    @Test func sourceAddressesFollowTheAgentNumber() {
        let plan = LoadPlan(agents: 7, sourceAddresses: 3)
        #expect(
            (1...7).map { plan.sourceAddress(ofAgent: $0) } == [
                "127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.1",
            ])
        #expect(LoadPlan(agents: 7).sourceAddress(ofAgent: 5) == nil)
    }

    @Test(arguments: ["::1", "localhost", "10.0.0.1"])
    func severalSourceAddressesNeedAnIPv4LoopbackServer(host: String) async throws {
        let plan = LoadPlan(
            host: host, port: 1, agents: 2, duration: .milliseconds(100), rampUp: .zero, sourceAddresses: 2)
        await #expect(throws: LoadPlanError.self) { try await LoadGenerator(plan: plan).run() }
    }

    @Test(arguments: [0, 255])
    func sourceAddressesOutsideOneTo254AreRefused(count: Int) async throws {
        let plan = LoadPlan(port: 1, agents: 1, duration: .milliseconds(100), rampUp: .zero, sourceAddresses: count)
        await #expect(throws: LoadPlanError.self) { try await LoadGenerator(plan: plan).run() }
    }
}
