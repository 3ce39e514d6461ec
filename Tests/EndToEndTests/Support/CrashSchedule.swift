import Foundation
import TestSupport

/// The crash schedule of issue 12's crash test, the same for monitord and for vmagent: for
/// `duration` seconds the middle tier is SIGKILLed at random moments (2 to 7 s apart, from a seeded
/// generator) and restarted at once; the receiver is down from 25 s to 35 s; one agent is
/// SIGKILLed at 40 s and restarted at 43 s.
struct CrashSchedule: CustomStringConvertible {
    enum Event: Equatable {
        case killMiddleTier
        case receiverDown
        case receiverUp
        case killAgent
        case restartAgent
    }

    let seed: UInt64
    let duration: Double
    /// Seconds from the start, in order.
    let events: [(at: Double, event: Event)]

    /// The seed from `CRASH_SEED` when set (to replay a run), else a new one; printed either way.
    static func seedFromEnvironment() -> UInt64 {
        ProcessInfo.processInfo.environment["CRASH_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 1...999_999)
    }

    init(seed: UInt64, duration: Double = 60) {
        self.seed = seed
        self.duration = duration
        var generator = SeededGenerator(seed: seed)
        var events: [(at: Double, event: Event)] = [
            (25, .receiverDown), (35, .receiverUp), (40, .killAgent), (43, .restartAgent),
        ]
        var time = Double.random(in: 2...7, using: &generator)
        while time < duration {
            events.append((time, .killMiddleTier))
            time += Double.random(in: 2...7, using: &generator)
        }
        self.events = events.sorted { $0.at < $1.at }
    }

    var kills: Int { events.count { $0.event == .killMiddleTier } }

    var description: String {
        "seed \(seed), \(duration) s, \(kills) SIGKILLs of the middle tier at "
            + events.filter { $0.event == .killMiddleTier }.map { String(format: "%.1f", $0.at) }.joined(
                separator: ", ") + " s; receiver down 25–35 s; agent 2 SIGKILLed at 40 s, back at 43 s"
    }

    /// Runs `handle` for each event when its time comes (late if an earlier one took long), then
    /// waits out the rest of the duration.
    func run(_ handle: (Event) async throws -> Void) async throws {
        let start = Date()
        for (at, event) in events {
            let wait = at - Date().timeIntervalSince(start)
            if wait > 0 { try await Task.sleep(for: .milliseconds(Int(wait * 1000))) }
            print(String(format: "CRASH %@ at +%.2f s", "\(event)", Date().timeIntervalSince(start)))
            try await handle(event)
        }
        let rest = duration - Date().timeIntervalSince(start)
        if rest > 0 { try await Task.sleep(for: .milliseconds(Int(rest * 1000))) }
    }
}

/// A remote-write receiver the crash schedule takes down and brings back, and counts from.
protocol CrashReceiver: AnyObject, Sendable {
    var name: String { get }
    var writeURL: String { get }
    /// A clean stop (the receiver's own crash safety is not under test), then refused connections.
    func takeDown() async
    func bringBack() async throws
    /// The timestamps (ms) stored for `family` of agent `agent`, every copy the receiver keeps.
    func timestamps(_ family: String, agent: String) throws -> [Int64]
    func stop()
}

/// Debian's Prometheus with its remote-write receiver. It stores a sample sent twice at the same
/// timestamp once (and refuses a different value there), so a duplicate cannot show: for it,
/// "exactly once" means "present".
final class PrometheusCrashReceiver: CrashReceiver, @unchecked Sendable {
    let receiver: RemoteWriteTests.Receiver
    let name = "Prometheus"

    init() async throws { receiver = try await RemoteWriteTests.Receiver() }

    var writeURL: String { receiver.writeURL }

    func takeDown() async {
        receiver.process.signal(SIGTERM)
        if await receiver.process.waitForExit(timeout: 30) == nil { await receiver.kill() }
    }

    func bringBack() async throws { try await receiver.restart() }

    func timestamps(_ family: String, agent: String) throws -> [Int64] {
        try receiver.samples("\(family){agent_number=\"\(agent)\"}", window: "30m").map(\.0)
    }

    func stop() { receiver.stop() }
}

/// VictoriaMetrics single-node, which keeps every copy: duplicates show.
final class VictoriaMetricsCrashReceiver: CrashReceiver, @unchecked Sendable {
    let server: VictoriaMetricsServer
    let name = "VictoriaMetrics"

    init() async throws { server = try await VictoriaMetricsServer() }

    var writeURL: String { server.writeURL }
    func takeDown() async { await server.stopCleanly() }
    func bringBack() async throws { try await server.restart() }

    func timestamps(_ family: String, agent: String) throws -> [Int64] {
        try server.timestamps("\(family){agent_number=\"\(agent)\"}")
    }

    func stop() { server.stop() }
}

/// One agent's line of the crash table.
struct CrashFigures: CustomStringConvertible {
    var agent: String
    /// Samples the agent took (numbered, and with a spool, on disk).
    var taken: Int
    /// Samples the middle tier acknowledged (the agent's own count).
    var acknowledged: Int
    /// Distinct timestamps in the receiver.
    var delivered: Int
    /// Copies beyond the first of a timestamp.
    var duplicates: Int
    var lost: Int { taken - delivered }

    init(agent: String, taken: Int, acknowledged: Int, stored: [Int64]) {
        self.agent = agent
        self.taken = taken
        self.acknowledged = acknowledged
        delivered = Set(stored).count
        duplicates = stored.count - delivered
    }

    init(total rows: [CrashFigures]) {
        agent = "total"
        taken = rows.reduce(0) { $0 + $1.taken }
        acknowledged = rows.reduce(0) { $0 + $1.acknowledged }
        delivered = rows.reduce(0) { $0 + $1.delivered }
        duplicates = rows.reduce(0) { $0 + $1.duplicates }
    }

    var description: String {
        "\(agent): taken \(taken), acknowledged \(acknowledged), delivered \(delivered), lost \(lost), duplicates \(duplicates)"
    }
}
