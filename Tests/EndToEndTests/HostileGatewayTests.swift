import Foundation
import TestSupport
import Testing

/// The agent against a gateway that lies (issue 11): a ``ScriptedGateway`` plays the gateway, the
/// real `monitor-agent` binary is the subject. Whatever the gateway says, the agent must stay up,
/// forget nothing on the gateway's word, and deliver to an honest gateway afterwards.
@Suite("Hostile gateway")
struct HostileGatewayTests {
    static let maximum = "18446744073709551615"
    static let welcome = #"{"type":"welcome","protocol":1}"# + "\n"

    static func ack(_ sequence: String) -> String { #"{"type":"ack","seq":\#(sequence)}"# + "\n" }

    static func startAgent(
        _ name: String, port: Int, spool: String? = nil, extra: String = ""
    ) throws -> AgentProcess {
        var configuration = extra
        if let spool { configuration += "\nspool-directory = \(spool)\n" }
        return try AgentProcess.start(
            name: name, gatewayPort: port, interval: "100ms", cpuWindow: "50ms", extraConfiguration: configuration)
    }

    /// A spool directory the agent may create (its parent is private to this test).
    static func spoolDirectory() throws -> String {
        try makeTemporaryDirectory() + "/spool"
    }

    /// Plays an honest gateway: welcome (holding nothing), take one sample, acknowledge it, hang
    /// up. An agent that gives up on a connection before its first sample (its silence timeout,
    /// when a loaded disk holds up the spool's fsync) and comes back is healthy, so the next
    /// connection gets the same chance, until `timeout`. Returns the first sequence received, or
    /// why none came.
    static func honestDelivery(_ gateway: ScriptedGateway, timeout: Double = 20) async -> Result<UInt64, E2EError> {
        let deadline = Date().addingTimeInterval(timeout)
        var failure = E2EError("the agent did not connect within \(timeout) s")
        while Date() < deadline {
            guard let connection = await gateway.accept(timeout: deadline.timeIntervalSinceNow) else { break }
            defer { connection.close() }
            guard await connection.readHello() != nil else {
                failure = E2EError("no hello")
                continue
            }
            await connection.send(welcome)
            guard let sequence = await connection.readSample(timeout: max(1, deadline.timeIntervalSinceNow)) else {
                failure = E2EError(connection.peerClosed ? "the agent hung up before a sample" : "no sample")
                continue
            }
            await connection.send(ack(String(sequence)))
            // Give the ack a moment to arrive before the hang-up.
            try? await Task.sleep(for: .milliseconds(50))
            return .success(sequence)
        }
        return .failure(failure)
    }

    @Test(
        "an ack of 2^64-1 is a protocol error: the agent closes, stays up and delivers, with a spool across a restart too",
        arguments: [false, true])
    func ackOfMaximumSequence(spooled: Bool) async throws {
        let gateway = try ScriptedGateway()
        let spool = spooled ? try Self.spoolDirectory() : nil
        let agent = try Self.startAgent("hostile-max-ack", port: gateway.port, spool: spool)
        defer { agent.process.signal(SIGKILL) }
        let connection = try #require(await gateway.accept(timeout: 15), "\(agent.process.output)")
        #expect(await connection.readHello() != nil)
        await connection.send(Self.welcome)
        let sequence = try #require(await connection.readSample(), "\(agent.process.output)")
        #expect(sequence >= 1)
        await connection.send(Self.ack(Self.maximum))
        #expect(await connection.waitForPeerClose(timeout: 5), "the agent kept the connection")
        connection.close()
        try await Task.sleep(for: .milliseconds(200))
        #expect(agent.process.process.isRunning, "the agent died: \(agent.process.output)")
        #expect(agent.process.output.contains("protocol error"), "\(agent.process.output)")
        // Nothing was forgotten on the lie: the honest gateway gets sample 1 again.
        #expect(try await Self.honestDelivery(gateway).get() == 1, "\(agent.process.output)")
        guard let spool else { return }
        agent.process.signal(SIGKILL)
        await agent.process.waitForExit()
        let restarted = try Self.startAgent("hostile-max-ack", port: gateway.port, spool: spool)
        defer { restarted.process.signal(SIGKILL) }
        let delivered = await Self.honestDelivery(gateway)
        #expect((try? delivered.get()) != nil, "\(delivered) \(restarted.process.output)")
        #expect(restarted.process.process.isRunning, "the restarted agent died: \(restarted.process.output)")
    }

    @Test("an ack ahead of what was sent closes the connection and forgets nothing")
    func ackAheadOfSent() async throws {
        let gateway = try ScriptedGateway()
        let agent = try Self.startAgent("hostile-ack-ahead", port: gateway.port)
        defer { agent.process.signal(SIGKILL) }
        let connection = try #require(await gateway.accept(timeout: 15))
        #expect(await connection.readHello() != nil)
        await connection.send(Self.welcome)
        _ = await connection.readSample()
        let second = try #require(await connection.readSample())
        await connection.send(Self.ack(String(second + 1000)))
        #expect(await connection.waitForPeerClose(timeout: 5), "the agent believed an ack beyond what it sent")
        connection.close()
        #expect(try await Self.honestDelivery(gateway).get() == 1, "\(agent.process.output)")
        // The numbering went on from the agent's own count, not from the lie.
        let next = try #require(await gateway.accept(timeout: 15))
        #expect(await next.readHello() != nil)
        await next.send(#"{"type":"welcome","protocol":1,"last_seq":1}"# + "\n")
        #expect(try #require(await next.readSample()) < 1000, "\(agent.process.output)")
    }

    @Test("a welcome whose last_seq is beyond the agent's numbering is refused without a spool")
    func welcomeBeyondNumbering() async throws {
        let gateway = try ScriptedGateway()
        let agent = try Self.startAgent("hostile-welcome-ahead", port: gateway.port)
        defer { agent.process.signal(SIGKILL) }
        try await Task.sleep(for: .milliseconds(500))
        let connection = try #require(await gateway.accept(timeout: 15))
        #expect(await connection.readHello() != nil)
        await connection.send(#"{"type":"welcome","protocol":1,"last_seq":1000000}"# + "\n")
        #expect(await connection.waitForPeerClose(timeout: 5), "the agent believed the gateway's last_seq")
        connection.close()
        #expect(try await Self.honestDelivery(gateway).get() == 1, "\(agent.process.output)")
    }

    /// Issue 11, defect 2: an agent that reconnected before its first sample was locked out.
    @Test("a welcome with last_seq 0 is taken as none")
    func welcomeWithZero() async throws {
        let gateway = try ScriptedGateway()
        let agent = try Self.startAgent("hostile-zero", port: gateway.port)
        defer { agent.process.signal(SIGKILL) }
        let connection = try #require(await gateway.accept(timeout: 15))
        #expect(await connection.readHello() != nil)
        await connection.send(#"{"type":"welcome","protocol":1,"last_seq":0}"# + "\n")
        #expect(await connection.readSample() == 1, "\(agent.process.output)")
    }

    /// Issue 11, defect 9: with a spool, memory is a window onto it, not a limit.
    @Test("with a spool, an outage longer than buffer-samples delivers every sample, in order")
    func spoolWindow() async throws {
        let gateway = try ScriptedGateway()
        let agent = try Self.startAgent(
            "hostile-window", port: gateway.port, spool: try Self.spoolDirectory(), extra: "buffer-samples = 5\n")
        defer { agent.process.signal(SIGKILL) }
        // The gateway is "down" (it hangs up at once) while the agent takes far more than 5 samples.
        let downUntil = Date().addingTimeInterval(3)
        while Date() < downUntil {
            guard let connection = await gateway.accept(timeout: downUntil.timeIntervalSinceNow) else { break }
            connection.close()
        }
        let connection = try #require(await gateway.accept(timeout: 15))
        #expect(await connection.readHello() != nil)
        await connection.send(Self.welcome)
        var received: [UInt64] = []
        while let sequence = await connection.readSample() {
            received.append(sequence)
            await connection.send(Self.ack(String(sequence)))
            if sequence >= 25 { break }
        }
        #expect(received == Array(1...25), "\(agent.process.output)")
    }

    /// Issue 11, defect 10: after any outage an agent delivers within about 5 s of the
    /// gateway's return, so its attempts are at most 4 s apart, and spread (jitter).
    @Test("during a long outage, attempts stay at most 4 s apart and jittered")
    func backoffCap() async throws {
        let gateway = try ScriptedGateway()
        let agent = try Self.startAgent("hostile-backoff", port: gateway.port)
        defer { agent.process.signal(SIGKILL) }
        var attempts: [Date] = []
        let end = Date().addingTimeInterval(25)
        while Date() < end {
            guard let connection = await gateway.accept(timeout: end.timeIntervalSinceNow) else { break }
            attempts.append(Date())
            connection.close()
        }
        let gaps = zip(attempts.dropFirst(), attempts).map { $0.timeIntervalSince($1) }
        #expect(gaps.count >= 5, "attempts: \(gaps)")
        #expect((gaps.max() ?? 99) <= 5, "gaps between attempts: \(gaps)")
        let late = gaps.suffix(3)
        #expect((late.max() ?? 0) - (late.min() ?? 0) > 0.01, "no jitter: \(gaps)")
        print("FIGURE backoff: \(attempts.count) attempts in 25 s, longest gap \((gaps.max() ?? 0) * 1000) ms")
    }

    @Test("a gateway that welcomes and then refuses is retried with a growing backoff, not every 0.5 s")
    func welcomeThenRefuse() async throws {
        let gateway = try ScriptedGateway()
        let agent = try Self.startAgent("hostile-refuser", port: gateway.port)
        defer { agent.process.signal(SIGKILL) }
        var connections = 0
        let end = Date().addingTimeInterval(12)
        while Date() < end {
            guard let connection = await gateway.accept(timeout: end.timeIntervalSinceNow) else { break }
            connections += 1
            _ = await connection.readHello()
            await connection.send(Self.welcome + #"{"type":"error","reason":"busy"}"# + "\n")
            _ = await connection.waitForPeerClose(timeout: 2)
            connection.close()
        }
        // Backoff 0.5, 1, 2, 4, 4, ... s with jitter: at most 9 attempts in 12 s; 24+ without it.
        #expect(connections <= 10, "\(connections) connections in 12 s")
        #expect(connections >= 3, "\(connections) connections in 12 s")
    }
}
