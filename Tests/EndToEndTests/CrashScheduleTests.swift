import Foundation
import TestSupport
import Testing

/// Issue 12, items 5 and 6: the crash test with real agents, a real receiver and a middle tier
/// SIGKILLed on a random schedule, for monitord in each `acknowledge` mode and, side by side, for
/// vmagent. The schedule (``CrashSchedule``, seeded, the seed printed; `CRASH_SEED` replays one):
/// for 60 s the middle tier is SIGKILLed every 2 to 7 s and restarted at once on the same ports and
/// directories, the receiver is stopped from 25 s to 35 s, and agent 2 (one with a spool) is
/// SIGKILLed at 40 s and restarted at 43 s.
///
/// Counting "taken", from the agents' own words, never from the receiver:
/// - an agent that lives to the end says on SIGTERM "N samples taken, A delivered, ..."
///   (`AgentService.drain`): N is every sample it numbered in this run;
/// - the killed agent cannot say it, but it has a spool with `spool-fsync = always`, and a sample
///   is written (and fsynced) to the spool before the agent's writer can see it
///   (`AgentState.store`): whatever its first life offered to the gateway is on disk. Its second
///   life resumes the spool's session and numbering and says so ("resuming session S after
///   sequence H, acknowledged up to A"), so its first life took H samples (a sample numbered in
///   the instant before the kill and never written was never offered to anyone: it is not
///   counted), and in all it took H + N. Checked: the second life's last sequence is H + N, and
///   in the modes that must lose nothing the receiver holds exactly H distinct timestamps older
///   than its restart.
///
/// "Delivered" is the number of distinct timestamps the receiver stores for the agent's
/// `process_ram_usage_percent` (one of its four series: they travel together); "duplicates" are the
/// copies beyond the first. Prometheus keeps a timestamp sent twice once, so against it duplicates
/// cannot show and "exactly once" means "present"; VictoriaMetrics (no deduplication) keeps every
/// copy, and `/api/v1/export` returns them all. Lost = taken − delivered.
///
/// Delivery by remote write is at least once: a request whose 2xx died with a SIGKILLed monitord
/// is sent again after the restart, and so is the one before it if its position was still being
/// written (docs/durability.md, "Forwarding from the log"). So against VictoriaMetrics the test
/// asserts that bound: at most two requests' worth of duplicates per kill (requests are kept small,
/// `max-samples-per-send = 20`, so that a monitord that lost its position and sent its whole log
/// again fails it); exactly once per timestamp is then the receiver's deduplication
/// (`-dedup.minScrapeInterval`).
///
/// Runs (CI time about 8 minutes): `received` into VictoriaMetrics (losses recorded, not
/// asserted), `durable` (`wal-fsync = always`) and `forwarded` into both receivers (nothing lost
/// and duplicates within the bound: asserted), and vmagent into VictoriaMetrics (figures only).
/// `CRASH_SABOTAGE=1` deletes monitord's log at the third restart, to see the durable run fail;
/// `CRASH_SABOTAGE=position` deletes only its forwarding position there, to see the bound on
/// duplicates fail.
@Suite("Crash schedule: monitord and vmagent SIGKILLed on a schedule, into real receivers", .serialized)
struct CrashScheduleTests {
    static let family = "process_ram_usage_percent"

    static func makeReceiver(_ name: String) async throws -> any CrashReceiver {
        name == "Prometheus" ? try await PrometheusCrashReceiver() : try await VictoriaMetricsCrashReceiver()
    }

    /// Small requests, so that the bound on duplicates (two requests per kill) can fail.
    static let maxSamplesPerSend = 20

    /// The most copies of one agent's `family` a kill may cause: the request in flight and the one
    /// whose position was being written, each at most `maxSamplesPerSend` samples of four series per
    /// agent sample (one more where a request splits a sample's four).
    static let duplicatesPerKill = 2 * (maxSamplesPerSend / 4 + 1)

    static func gatewayConfiguration(mode: String, receiver: any CrashReceiver, directory: String) -> String {
        let log = mode == "received" ? "" : "wal-directory = \(directory)/wal\nwal-fsync = always\n"
        return """
            agent-timeout = 10s
            forget-after = 1h
            acknowledge = \(mode)
            \(log)
            [remote-write]
            url = \(receiver.writeURL)
            flush-interval = 250ms
            max-samples-per-send = \(maxSamplesPerSend)
            min-backoff = 50ms
            max-backoff = 1s
            timeout = 2s
            """
    }

    /// "resuming session S after sequence H, acknowledged up to A" from a restarted agent's log.
    static func resumption(_ log: String) -> (highest: Int, acknowledged: Int)? {
        guard let match = log.firstMatch(of: /resuming session \S+ after sequence (\d+), acknowledged up to (\d+)/),
            let highest = Int(match.1), let acknowledged = Int(match.2)
        else { return nil }
        return (highest, acknowledged)
    }

    /// monitord's log lines about drops, refusals and the forwarding position.
    static func notable(_ output: String) -> [Substring] {
        output.split(separator: "\n").filter { line in
            ["drop", "refus", "position", "rejected"].contains { line.contains($0) }
        }
    }

    static func lastSequence(_ log: String) -> Int? {
        log.firstMatch(of: /not delivered \(last sequence (\d+)\)/).flatMap { Int($0.1) }
    }

    /// Where `stored` skips more than 1.5 intervals: "+12.34 s: 600 ms", from `start` (ms).
    static func gaps(_ stored: [Int64], from start: Int64) -> String {
        let times = Set(stored).sorted()
        return zip(times, times.dropFirst()).filter { $1 - $0 > 150 }.map {
            String(format: "+%.2f s: %d ms", Double($0.0 - start) / 1000, Int($0.1 - $0.0))
        }.joined(separator: ", ")
    }

    static func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    static func report(_ title: String, _ rows: [CrashFigures]) {
        for row in rows + [CrashFigures(total: rows)] { print("FIGURE crash \(title) \(row)") }
    }

    /// Four monitor-agents at 100 ms (1 and 2 with a spool, fsync always) through one monitord
    /// into `receiver`, under the schedule; returns each agent's figures and, for the killed agent,
    /// the distinct timestamps stored from before its restart and how many its first life took.
    func monitordRun(mode: String, receiver: any CrashReceiver) async throws -> (
        rows: [CrashFigures], firstLife: (stored: Int, taken: Int), kills: Int
    ) {
        let schedule = CrashSchedule(seed: CrashSchedule.seedFromEnvironment())
        let title = "monitord acknowledge=\(mode) receiver=\(receiver.name)"
        print("CRASH \(title): \(schedule)")
        let directory = try makeTemporaryDirectory()
        let settings = Self.gatewayConfiguration(mode: mode, receiver: receiver, directory: directory)
        var gateway = try await GatewayProcess.start(extraConfiguration: settings, directory: directory)
        let (agentPort, metricsPort) = (gateway.agentPort, gateway.metricsPort)
        let names = (1...4).map { "crash-\(mode)-\($0)" }
        let spools = try (0..<2).map { _ in try makeTemporaryDirectory() }
        func startAgent(_ index: Int) throws -> AgentProcess {
            let spool = index < 2 ? "spool-directory = \(spools[index])/spool\nspool-fsync = always\n" : ""
            return try AgentProcess.start(
                name: names[index], gatewayPort: agentPort, interval: "100ms", extraConfiguration: spool)
        }
        var agents = try (0..<4).map(startAgent)
        defer { agents.forEach { $0.process.signal(SIGKILL) } }
        var restarts = 0
        // monitord's lines about drops, refusals and its position, from every life.
        var notable: [Substring] = []
        let start = Self.now()
        var agentRestart: Int64 = 0
        try await schedule.run { event in
            switch event {
            case .killMiddleTier:
                gateway.process.signal(SIGKILL)
                _ = await gateway.process.waitForExit(timeout: 10)
                notable += Self.notable(gateway.process.output)
                restarts += 1
                let sabotage = ProcessInfo.processInfo.environment["CRASH_SABOTAGE"]
                if restarts == 3, mode == "durable", sabotage == "1" {
                    print("CRASH sabotage: monitord's log deleted before restart 3")
                    try? FileManager.default.removeItem(atPath: directory + "/wal")
                }
                if restarts == 3, mode == "durable", sabotage == "position" {
                    print("CRASH sabotage: the forwarding position deleted before restart 3")
                    try? FileManager.default.removeItem(atPath: directory + "/wal/remote-write.position")
                }
                gateway = try await GatewayProcess.start(
                    agentPort: agentPort, metricsPort: metricsPort, extraConfiguration: settings, directory: directory)
            case .receiverDown: await receiver.takeDown()
            case .receiverUp: try await receiver.bringBack()
            case .killAgent:
                agents[1].process.signal(SIGKILL)
                _ = await agents[1].process.waitForExit(timeout: 10)
            case .restartAgent:
                agentRestart = Self.now()
                agents[1] = try startAgent(1)
            }
        }
        defer { gateway.process.signal(SIGKILL) }

        // Every agent caught up (the receiver has a sample of each taken after the schedule), then
        // stopped: each drains what it holds (up to 5 s) and says its account.
        let settled = Self.now()
        let caughtUp = await eventually(timeout: 90, every: .milliseconds(500)) {
            try names.allSatisfy { try (receiver.timestamps(Self.family, agent: $0).max() ?? 0) >= settled }
        }
        #expect(caughtUp, "agents did not catch up: \(gateway.process.output.suffix(2000))")
        let stopping = agents
        await withTaskGroup(of: Void.self) { group in
            for agent in stopping { group.addTask { await agent.stop() } }
        }
        // Nothing queued or unread in the log, and nothing being sent: the queue's length leaves out
        // the batch in flight, which a stop would then have only 5 s to deliver.
        let drained = await eventually(timeout: 30) {
            let page = try gateway.metrics()
            return LogForwardingCrashTests.total(page, "monitord_remote_write_queue_length") == 0
                && LogForwardingCrashTests.total(page, "monitord_remote_write_oldest_unforwarded_age_seconds") == 0
        }
        #expect(drained, "monitord did not drain: \(gateway.process.output.suffix(2000))")
        // What the last life dropped, by reason (a loss then says where it went).
        let dropped =
            (try? gateway.metrics().series.filter { $0.name.hasSuffix("_dropped_total") && $0.value > 0 }) ?? []
        notable += Self.notable(gateway.process.output)
        for line in notable.suffix(20) { print("CRASH monitord said: \(line)") }
        print("FIGURE crash \(title) dropped: \(dropped.map { "\($0.name)\($0.labels) \(Int($0.value))" })")
        await gateway.stop()

        // The agents' own accounts first: what each took and saw acknowledged.
        var accounts: [(taken: Int, acknowledged: Int)] = []
        var firstLifeTaken = 0
        for (index, agent) in agents.enumerated() {
            let log = agent.process.output
            let account = try #require(FaultTests.Account(log: log), "\(names[index]): \(log.suffix(2000))")
            var (taken, acknowledged) = (account.taken, account.delivered)
            if index == 1 {
                let resumed = try #require(Self.resumption(log), "the killed agent resumed its spool: \(log)")
                firstLifeTaken = resumed.highest
                taken += resumed.highest
                acknowledged += resumed.acknowledged
            }
            #expect(Self.lastSequence(log) == taken, "\(names[index]): numbering \(log.suffix(1000))")
            accounts.append((taken, acknowledged))
        }
        // What a receiver stored is searchable a moment later (VictoriaMetrics: seconds, even after
        // /internal/force_flush): wait, within a bound, for the counts to reach what was taken.
        _ = await eventually(timeout: 20, every: .seconds(1)) {
            try zip(names, accounts).allSatisfy {
                Set(try receiver.timestamps(Self.family, agent: $0)).count >= $1.taken
            }
        }
        var rows: [CrashFigures] = []
        var firstLife = (stored: 0, taken: firstLifeTaken)
        for (name, account) in zip(names, accounts) {
            let stored = try receiver.timestamps(Self.family, agent: name)
            if name == names[1] { firstLife.stored = Set(stored.filter { $0 < agentRestart }).count }
            let row = CrashFigures(
                agent: name, taken: account.taken, acknowledged: account.acknowledged, stored: stored)
            // Counting is consistent: nothing is stored that the agent did not take.
            #expect(row.lost >= 0, "\(row): the receiver holds timestamps the agent never took")
            if row.lost > 0 { print("CRASH \(name) missing around: \(Self.gaps(stored, from: start))") }
            rows.append(row)
        }
        Self.report(title + " seed=\(schedule.seed) kills=\(schedule.kills)", rows)
        print("FIGURE crash \(title) killed agent's first life: took \(firstLife.taken), stored \(firstLife.stored)")
        return (rows, firstLife, schedule.kills)
    }

    @Test("monitord, acknowledge = received (no log), into VictoriaMetrics: what is lost is counted, not asserted")
    func receivedLosesWhatItHeld() async throws {
        let receiver = try await Self.makeReceiver("VictoriaMetrics")
        defer { receiver.stop() }
        let (rows, _, _) = try await monitordRun(mode: "received", receiver: receiver)
        #expect(rows.count == 4 && rows.allSatisfy { $0.taken > 0 && $0.lost >= 0 })
    }

    @Test(
        "monitord, acknowledge = durable (fsync always) and forwarded: every sample taken is in the receiver, once",
        arguments: ["durable", "forwarded"], ["VictoriaMetrics", "Prometheus"])
    func losesNothing(mode: String, receiverName: String) async throws {
        let receiver = try await Self.makeReceiver(receiverName)
        defer { receiver.stop() }
        let (rows, firstLife, kills) = try await monitordRun(mode: mode, receiver: receiver)
        for row in rows {
            #expect(row.taken > 300, "\(row): the agents ran through the schedule")
            #expect(row.lost == 0, "\(row)")
        }
        // Duplicates are bounded, not refused: what a kill sends again is at most two requests.
        let duplicates = CrashFigures(total: rows).duplicates
        #expect(
            duplicates <= kills * Self.duplicatesPerKill,
            "\(duplicates) duplicates after \(kills) kills: more than two requests sent again per kill")
        #expect(firstLife.stored == firstLife.taken, "the killed agent's first life: \(firstLife)")
    }

    @Test("vmagent as the middle tier under the same schedule, into VictoriaMetrics: counted the same way")
    func vmagentSideBySide() async throws {
        let schedule = CrashSchedule(seed: CrashSchedule.seedFromEnvironment())
        let title = "vmagent receiver=VictoriaMetrics"
        print("CRASH \(title): \(schedule)")
        let receiver = try await VictoriaMetricsCrashReceiver()
        defer { receiver.stop() }
        let queue = try makeTemporaryDirectory() + "/queue"
        let port = try freeLoopbackPort()
        var vmagent = try await VMAgentProcess.start(
            port: port, remoteWriteURL: receiver.writeURL, queueDirectory: queue)
        defer { vmagent.process.signal(SIGKILL) }
        let names = (1...4).map { "crash-vmagent-\($0)" }
        let drivers = names.map { PushingAgent(name: $0, family: Self.family, port: port) }
        let start = Self.now()
        for driver in drivers { Thread { driver.run() }.start() }
        defer { drivers.forEach { $0.abandon() } }
        try await schedule.run { event in
            switch event {
            case .killMiddleTier:
                vmagent.process.signal(SIGKILL)
                _ = await vmagent.process.waitForExit(timeout: 10)
                vmagent = try await VMAgentProcess.start(
                    port: port, remoteWriteURL: receiver.writeURL, queueDirectory: queue)
            case .receiverDown: await receiver.takeDown()
            case .receiverUp: try await receiver.bringBack()
            // A driver holds what it has not had acknowledged in memory, as a spool would hold
            // it: killing one would only pause its taking. No driver is killed.
            case .killAgent, .restartAgent: break
            }
        }
        drivers.forEach { $0.stopTaking() }
        #expect(
            await eventually(timeout: 60) { drivers.allSatisfy(\.finished) },
            "every driver had all it took acknowledged")
        // vmagent forwards from its queue: wait until its persistent queue is empty and the
        // receiver holds every sample taken, or its count has not grown for 5 s (longer than
        // VictoriaMetrics' delay before a sample is searchable, seconds).
        var previous = -1
        let taken = drivers.reduce(0) { $0 + $1.taken }
        let agentPort = vmagent.port
        _ = await eventually(timeout: 90, every: .seconds(5)) {
            let pending = ExpositionPage(text: try HTTPClient.get(port: agentPort, path: "/metrics").body).series
                .filter { $0.name == "vm_persistentqueue_bytes_pending" }.reduce(0) { $0 + $1.value }
            let count = try names.reduce(0) { try $0 + Set(receiver.timestamps(Self.family, agent: $1)).count }
            defer { previous = count }
            return pending == 0 && (count >= taken || count == previous)
        }
        await vmagent.process.stop()
        var rows: [CrashFigures] = []
        for driver in drivers {
            let stored = try receiver.timestamps(Self.family, agent: driver.name)
            let row = CrashFigures(
                agent: driver.name, taken: driver.taken, acknowledged: driver.acknowledged, stored: stored)
            #expect(row.lost >= 0 && row.acknowledged <= row.taken, "\(row)")
            if row.lost > 0 { print("CRASH \(driver.name) missing around: \(Self.gaps(stored, from: start))") }
            rows.append(row)
        }
        Self.report(title + " seed=\(schedule.seed) kills=\(schedule.kills)", rows)
        print("FIGURE crash \(title) failed pushes (retried): \(drivers.reduce(0) { $0 + $1.failedPushes })")
    }
}

/// A test driver standing in for an agent in front of vmagent (monitor-agent speaks only
/// monitord's protocol): takes a sample every 100 ms, stamped with its own tick's time, keeps
/// what vmagent has not acknowledged (a 2xx to the push that carried it) and pushes it again,
/// oldest first, as a real client with a buffer would. On a thread of its own: its HTTP calls block.
final class PushingAgent: @unchecked Sendable {
    let name: String
    private let family: String
    private let port: Int
    private let lock = NSLock()
    private var taking = true
    private var done = false
    private var counts = (taken: 0, acknowledged: 0, failedPushes: 0)

    init(name: String, family: String, port: Int) {
        self.name = name
        self.family = family
        self.port = port
    }

    var taken: Int { lock.withLock { counts.taken } }
    var acknowledged: Int { lock.withLock { counts.acknowledged } }
    var failedPushes: Int { lock.withLock { counts.failedPushes } }
    var finished: Bool { lock.withLock { done } }
    func stopTaking() { lock.withLock { taking = false } }
    /// Ends the thread whatever it holds (a failed test's cleanup).
    func abandon() { lock.withLock { done = true } }

    func run() {
        var pending: [(time: Int64, value: Int)] = []
        var next = CrashScheduleTests.now()
        while true {
            let now = CrashScheduleTests.now()
            let (keepTaking, abandoned) = lock.withLock { (taking, done) }
            if abandoned { return }
            if keepTaking {
                while next <= now {
                    let value = lock.withLock {
                        counts.taken += 1
                        return counts.taken
                    }
                    pending.append((next, value))
                    next += 100
                }
            } else if pending.isEmpty {
                return lock.withLock { done = true }
            }
            if !pending.isEmpty {
                let batch = pending.prefix(1000)
                let body = batch.map { "\(family){agent_number=\"\(name)\"} \($0.value) \($0.time)\n" }.joined()
                let status = (try? HTTPClient.post(port: port, path: "/api/v1/import/prometheus", body: body))?.status
                if let status, (200..<300).contains(status) {
                    pending.removeFirst(batch.count)
                    lock.withLock { counts.acknowledged += batch.count }
                } else {
                    lock.withLock { counts.failedPushes += 1 }
                    usleep(100_000)
                    continue
                }
            }
            let wait = next - CrashScheduleTests.now()
            if wait > 0 { usleep(UInt32(wait) * 1000) }
        }
    }
}
