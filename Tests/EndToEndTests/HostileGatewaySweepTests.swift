import Foundation
import Testing

/// The hostile gateway's full sweep: every scenario of ``GatewayScenario/all`` against real
/// agents, without and with a spool. After each scenario the agent must still be alive (no
/// crash), must hang up on a stalled gateway by itself and reconnect (no hang), and must deliver
/// to an honest gateway; a spooled agent must also do so after a SIGKILL and restart on its spool.
@Suite("Hostile gateway sweep")
struct HostileGatewaySweepTests {
    /// Agents run side by side, each taking every n-th scenario, so the sweep takes about a
    /// minute per mode although each scenario waits for a reconnect.
    static let agentsPerMode = 4

    /// One agent working through its share of the scenarios.
    final class Subject: @unchecked Sendable {
        let name: String
        let gateway: ScriptedGateway
        let spool: String?
        var agent: AgentProcess
        var tally = SweepTally()

        init(name: String, spooled: Bool) throws {
            self.name = name
            gateway = try ScriptedGateway()
            spool = spooled ? try HostileGatewayTests.spoolDirectory() : nil
            agent = try HostileGatewayTests.startAgent(name, port: gateway.port, spool: spool)
        }

        /// Starts the agent again on the same spool (after a kill, or after a crash to go on).
        func restart() async throws {
            agent.process.signal(SIGKILL)
            await agent.process.waitForExit()
            // A connection the dead agent left in the listen queue is not the new agent's.
            while let stale = await gateway.accept(timeout: 0.05) { stale.close() }
            agent = try HostileGatewayTests.startAgent(name, port: gateway.port, spool: spool)
        }

        /// If the agent died, records the crash with its log and starts a new one.
        func checkAlive(_ scenario: GatewayScenario, _ moment: String) async throws -> Bool {
            guard !agent.process.process.isRunning else { return true }
            let status = agent.process.process.terminationStatus
            tally.crashes.append("\(scenario) (\(moment)): exit \(status)\n\(agent.process.output.suffix(1500))")
            try await restart()
            return false
        }

        func run(_ scenario: GatewayScenario) async throws {
            tally.scenarios += 1
            guard let connection = await gateway.accept(timeout: 20) else {
                if try await checkAlive(scenario, "before the scenario") {
                    tally.hangs.append("\(scenario): the agent did not connect")
                }
                return
            }
            tally.connections += 1
            var lastRead: UInt64 = 0
            switch scenario.stage {
            case .onAccept:
                break
            case .afterHello:
                _ = await connection.readHello()
            case .afterWelcome:
                _ = await connection.readHello()
                await connection.send(HostileGatewayTests.welcome)
            case .afterSamples:
                _ = await connection.readHello()
                await connection.send(HostileGatewayTests.welcome)
                let first = await connection.readSample() ?? 0
                lastRead = await connection.readSample() ?? first
                if first > 0 { await connection.send(HostileGatewayTests.ack(String(first))) }
            }
            for step in scenario.steps {
                switch step {
                case .send(let bytes):
                    await connection.send(bytes, timeout: 3)
                case .sendByteByByte(let bytes):
                    for byte in bytes {
                        guard await connection.send([byte], timeout: 1) else { break }
                        try? await Task.sleep(for: .milliseconds(1))
                    }
                case .ackRelative(let offset):
                    let target = offset >= 0 ? lastRead &+ UInt64(offset) : lastRead &- UInt64(-offset)
                    await connection.send(HostileGatewayTests.ack(String(target)))
                case .awaitAgentClose(let seconds):
                    if !(await connection.waitForPeerClose(timeout: seconds)) {
                        tally.hangs.append("\(scenario): the agent kept a stalled connection for \(seconds) s")
                    }
                }
            }
            // Whatever the agent makes of it, give it a moment to act (and to crash, if it would).
            _ = await connection.waitForPeerClose(timeout: 0.3)
            connection.close()
            guard try await checkAlive(scenario, "during the scenario") else { return }
            try await deliverHonestly(after: scenario, "after the scenario")
            if spool != nil {
                try await restart()
                try await deliverHonestly(after: scenario, "after a restart on the spool")
            }
        }

        private func deliverHonestly(after scenario: GatewayScenario, _ moment: String) async throws {
            let result = await HostileGatewayTests.honestDelivery(gateway, timeout: 20)
            tally.connections += 1
            guard try await checkAlive(scenario, moment) else { return }
            if case .failure(let reason) = result {
                tally.hangs.append("\(scenario) (\(moment)): \(reason)\n\(agent.process.output.suffix(800))")
            }
        }
    }

    @Test("every gateway message, boundary value and stage: no crash, no hang", arguments: [false, true])
    func sweep(spooled: Bool) async throws {
        let scenarios = GatewayScenario.all
        let subjects = try (0..<Self.agentsPerMode).map {
            try Subject(name: "hostile-sweep-\(spooled ? "spool" : "plain")-\($0)", spooled: spooled)
        }
        defer { subjects.forEach { $0.agent.process.signal(SIGKILL) } }
        let started = Date()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, subject) in subjects.enumerated() {
                group.addTask {
                    for scenario in stride(from: index, to: scenarios.count, by: subjects.count).map({ scenarios[$0] })
                    {
                        try await subject.run(scenario)
                    }
                }
            }
            try await group.waitForAll()
        }
        var total = SweepTally()
        for subject in subjects { total.add(subject.tally) }
        let mode = spooled ? "with a spool (restarted after each scenario)" : "without a spool"
        print(
            "FIGURE hostile gateway \(mode): \(total.scenarios) scenarios, \(total.connections) connections, "
                + "\(total.crashes.count) crashes, \(total.hangs.count) hangs, "
                + "\(Int(Date().timeIntervalSince(started))) s")
        #expect(total.scenarios == scenarios.count)
        #expect(total.crashes.isEmpty, "\(total.crashes.joined(separator: "\n---\n"))")
        #expect(total.hangs.isEmpty, "\(total.hangs.joined(separator: "\n---\n"))")
    }
}
