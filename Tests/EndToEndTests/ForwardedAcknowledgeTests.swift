import Foundation
import Synchronization
import TestSupport
import Testing

/// Issue 12, item 1: `acknowledge = forwarded`. An agent's sample is acknowledged only once the
/// remote-write receiver took the request that carried it, so a gateway that dies for good (SIGKILL,
/// its write-ahead log gone with its disk) loses nothing: the agent still holds what that gateway had
/// not forwarded and replays it to the next one. With `durable` the same death loses what the dead
/// gateway acknowledged and had not forwarded. Against Debian's Prometheus with its remote-write receiver.
@Suite("Acknowledge once forwarded", .serialized)
struct ForwardedAcknowledgeTests {
    static func configuration(
        mode: String, receiver: RemoteWriteTests.Receiver, directory: String, agentTimeout: String = "3s",
        maxSamplesPerSend: Int = 400
    ) -> String {
        // A flush interval of 1 s: a gateway holds about a second of samples unforwarded at any time.
        """
        agent-timeout = \(agentTimeout)
        forget-after = 60s
        acknowledge = \(mode)
        wal-directory = \(directory)/wal
        wal-fsync = always

        [remote-write]
        url = \(receiver.writeURL)
        flush-interval = 1s
        max-samples-per-send = \(maxSamplesPerSend)
        min-backoff = 50ms
        max-backoff = 500ms
        timeout = 2s
        """
    }

    @Test(
        "gateway SIGKILLed for good, its log deleted; the agent fails over: forwarded loses nothing, durable loses what was unforwarded",
        arguments: ["forwarded", "durable"])
    func gatewayDiesForGood(mode: String) async throws {
        let receiver = try await RemoteWriteTests.Receiver()
        defer { receiver.stop() }
        let directoryA = try makeTemporaryDirectory()
        let directoryB = try makeTemporaryDirectory()
        let spool = try makeTemporaryDirectory()
        let gatewayA = try await GatewayProcess.start(
            extraConfiguration: Self.configuration(mode: mode, receiver: receiver, directory: directoryA),
            directory: directoryA)
        let gatewayB = try await GatewayProcess.start(
            extraConfiguration: Self.configuration(mode: mode, receiver: receiver, directory: directoryB),
            directory: directoryB)
        let name = "e2e-fwd-\(mode)"
        let agent = try AgentProcess.start(
            name: name, gatewayPort: gatewayA.agentPort, servers: [gatewayA.agentPort, gatewayB.agentPort],
            interval: "100ms",
            extraConfiguration: "failback-after = 1h\nspool-directory = \(spool)/spool\nspool-fsync = always\n")
        defer { agent.process.signal(SIGKILL) }
        #expect(await receiver.server.ingests("process_ram_usage_percent", agent: name, timeout: 30))
        #expect(
            await eventually(timeout: 30) {
                try gatewayA.metrics().value("monitord_samples_received_total", agent: name) ?? 0 >= 40
            })

        // A dies for good: killed, and its write-ahead log gone with it (a lost disk, a replaced host).
        gatewayA.process.signal(SIGKILL)
        _ = await gatewayA.process.waitForExit(timeout: 10)
        try FileManager.default.removeItem(atPath: directoryA + "/wal")

        #expect(
            await eventually(timeout: 30) {
                try gatewayB.metrics().value("monitord_samples_received_total", agent: name) ?? 0 >= 30
            }, "agent: \(agent.process.output.suffix(2000))")
        await agent.stop()  // Waits (up to its drain timeout) for acknowledgements of what it holds.
        #expect(
            await eventually(timeout: 30) {
                let page = try gatewayB.metrics()
                return LogForwardingCrashTests.total(page, "monitord_remote_write_queue_length") == 0
            })
        await gatewayB.stop()
        let account = try #require(FaultTests.Account(log: agent.process.output), "\(agent.process.output)")
        let samples = try receiver.samples("process_ram_usage_percent{agent_number=\"\(name)\"}")
        let times = samples.map(\.0)
        print(
            "FIGURE acknowledge = \(mode), gateway SIGKILLed for good: agent took \(account.taken), "
                + "delivered (acknowledged) \(account.delivered), not delivered \(account.left), "
                + "Prometheus has \(samples.count), lost \(account.taken - samples.count)")
        #expect(Set(times).count == times.count, "each timestamp once")
        if mode == "forwarded" {
            #expect(account.left == 0, "the agent delivered everything to B: \(agent.process.output.suffix(2000))")
            #expect(samples.count == account.taken, "every sample the agent took is in the receiver")
            for family in ExpositionPage.reportFamilies.dropFirst() {
                #expect(try receiver.samples("\(family){agent_number=\"\(name)\"}").map(\.0) == times, "\(family)")
            }
        } else {
            // The hostile baseline: what A acknowledged (durable) and had not forwarded died with it.
            #expect(samples.count < account.taken, "durable loses what the dead gateway had not forwarded")
        }
    }

    @Test("receiver down for 6 s: acks stop, keepalives keep the agent with its gateway, and everything arrives after")
    func receiverDownKeepsTheAgent() async throws {
        let receiver = try await RemoteWriteTests.Receiver()
        defer { receiver.stop() }
        let directoryA = try makeTemporaryDirectory()
        let directoryB = try makeTemporaryDirectory()
        let gatewayA = try await GatewayProcess.start(
            extraConfiguration: Self.configuration(mode: "forwarded", receiver: receiver, directory: directoryA),
            directory: directoryA)
        let gatewayB = try await GatewayProcess.start(
            extraConfiguration: Self.configuration(mode: "forwarded", receiver: receiver, directory: directoryB),
            directory: directoryB)
        let name = "e2e-fwd-outage"
        // At 100 ms the agent gives up on a gateway after 2 s without progress: a third of the outage.
        let agent = try AgentProcess.start(
            name: name, gatewayPort: gatewayA.agentPort, servers: [gatewayA.agentPort, gatewayB.agentPort],
            interval: "100ms", extraConfiguration: "failback-after = 1h\n")
        defer { agent.process.signal(SIGKILL) }
        #expect(await receiver.server.ingests("process_ram_usage_percent", agent: name, timeout: 30))
        await receiver.kill()
        try await Task.sleep(for: .seconds(6))
        try await receiver.restart()
        #expect(
            await eventually(timeout: 30) {
                try gatewayA.metrics().value("monitord_samples_received_total", agent: name) ?? 0 >= 120
            })
        await agent.stop()
        #expect(
            await eventually(timeout: 30) {
                LogForwardingCrashTests.total(try gatewayA.metrics(), "monitord_remote_write_queue_length") == 0
            })
        let onB = try gatewayB.metrics().value("monitord_samples_received_total", agent: name) ?? 0
        await gatewayA.stop()
        await gatewayB.stop()
        let account = try #require(FaultTests.Account(log: agent.process.output), "\(agent.process.output)")
        let samples = try receiver.samples("process_ram_usage_percent{agent_number=\"\(name)\"}")
        let failovers =
            agent.process.output.components(separatedBy: "connected to 127.0.0.1:\(gatewayB.agentPort)")
            .count - 1
        print(
            "FIGURE acknowledge = forwarded, receiver down 6 s: agent took \(account.taken), "
                + "Prometheus has \(samples.count), connections to the second gateway \(failovers), samples it received \(Int(onB))"
        )
        #expect(failovers == 0 && onB == 0, "the agent stayed with its gateway: \(agent.process.output.suffix(3000))")
        #expect(account.left == 0 && samples.count == account.taken, "every sample arrived after the outage")
        #expect(Set(samples.map(\.0)).count == samples.count, "each timestamp once")
    }

    static let keepalive = #"{"type":"ack","seq":0}"#

    static func ack(_ sequence: Int) -> String { #"{"type":"ack","seq":\#(sequence)}"# }

    /// Every line `peer` sends within `seconds`, or up to and including `last`.
    static func lines(from peer: HostilePeer, for seconds: Double, until last: String? = nil) -> [String] {
        let end = Date().addingTimeInterval(seconds)
        var lines: [String] = []
        while Date() < end, lines.last == nil || lines.last != last {
            if let line = peer.nextLine(timeout: end.timeIntervalSinceNow) { lines.append(line) }
        }
        return lines
    }

    @Test("receiver down: no sample is acknowledged, only keepalives to agents that asked; acks come once it is back")
    func nothingAcknowledgedBeforeTheReceiverHasIt() async throws {
        let receiver = try await RemoteWriteTests.Receiver()
        defer { receiver.stop() }
        let directory = try makeTemporaryDirectory()
        let gateway = try await GatewayProcess.start(
            extraConfiguration: Self.configuration(
                mode: "forwarded", receiver: receiver, directory: directory, agentTimeout: "30s"),
            directory: directory)
        defer { gateway.process.signal(SIGKILL) }
        await receiver.kill()
        // One second apart (the receiver keeps milliseconds), the same times when replayed.
        let start = Date().timeIntervalSince1970.rounded() - 60
        let asking = try HostilePeer(port: gateway.agentPort)
        let plain = try HostilePeer(port: gateway.agentPort)
        try asking.send(
            line: HostileMessages.hello(
                agent: "\"fwd-asking\"", session: "\"aaaa0000aaaa0000\"", extra: #","keepalive":true"#))
        try plain.send(line: HostileMessages.hello(agent: "\"fwd-plain\"", session: "\"bbbb0000bbbb0000\""))
        #expect(asking.nextLine(timeout: 5) == #"{"type":"welcome","protocol":1}"#)
        #expect(plain.nextLine(timeout: 5) == #"{"type":"welcome","protocol":1}"#)
        for seq in 1...5 {
            try asking.send(line: HostileMessages.sample(seq: "\(seq)", ts: "\(start + Double(seq))"))
            try plain.send(line: HostileMessages.sample(seq: "\(seq)", ts: "\(start + Double(seq))"))
        }
        let whileDown = Self.lines(from: asking, for: 3.5)
        #expect(whileDown.count >= 2 && whileDown.allSatisfy { $0 == Self.keepalive }, "keepalives only: \(whileDown)")
        #expect(Self.lines(from: plain, for: 0.5).isEmpty, "no keepalive to an agent that did not ask")

        try await receiver.restart()
        let once = Self.lines(from: asking, for: 20, until: Self.ack(5))
        #expect(once.last == Self.ack(5) && once.dropLast().allSatisfy { $0 == Self.keepalive }, "\(once)")
        #expect(plain.nextLine(timeout: 20) == Self.ack(5))

        // A reconnect: the welcome promises nothing (the log may hold what is not forwarded), the
        // replayed samples are recognised, and the ack covers them once forwarded.
        asking.close()
        let again = try HostilePeer(port: gateway.agentPort)
        try again.send(
            line: HostileMessages.hello(
                agent: "\"fwd-asking\"", session: "\"aaaa0000aaaa0000\"", extra: #","keepalive":true"#))
        #expect(again.nextLine(timeout: 5) == #"{"type":"welcome","protocol":1}"#)
        for seq in 1...6 { try again.send(line: HostileMessages.sample(seq: "\(seq)", ts: "\(start + Double(seq))")) }
        let replayed = Self.lines(from: again, for: 20, until: Self.ack(6))
        // Replays of samples already forwarded may be acknowledged at once, the new one after its request.
        #expect(
            replayed.last == Self.ack(6)
                && replayed.dropLast().allSatisfy { $0 == Self.keepalive || (1...5).map(Self.ack).contains($0) },
            "\(replayed)")
        #expect(try gateway.metrics().value("monitord_samples_received_total", agent: "fwd-asking") == 6)
        let stored = try receiver.samples("process_ram_usage_percent{agent_number=\"fwd-asking\"}")
        #expect(stored.count == 6, "\(stored)")
    }

    @Test(
        "records damaged in the log before they are forwarded: no ack covers them, the agents send them again, every acknowledged sample arrives in order"
    )
    func damagedRecordsAreNotAcknowledged() async throws {
        let receiver = try await RemoteWriteTests.Receiver()
        defer { receiver.stop() }
        let directory = try makeTemporaryDirectory()
        let gateway = try await GatewayProcess.start(
            extraConfiguration: Self.configuration(
                mode: "forwarded", receiver: receiver, directory: directory, agentTimeout: "60s", maxSamplesPerSend: 50
            ),
            directory: directory)
        defer { gateway.process.signal(SIGKILL) }
        await receiver.kill()
        let count = 2000
        let start = Date().timeIntervalSince1970.rounded() - 300
        func time(_ seq: Int) -> Double { start + Double(seq) / 10 }
        func selector(_ agent: String) -> String { "process_ram_usage_percent{agent_number=\"\(agent)\"}" }
        // A second agent, connected before the damage and sending again after it is found: its
        // connection may log nothing more (its samples would overtake the first agent's resends).
        let live = try HostilePeer(port: gateway.agentPort)
        try live.send(line: HostileMessages.hello(agent: "\"fwd-live\"", session: "\"dddd0000dddd0000\""))
        #expect(live.nextLine(timeout: 5) == #"{"type":"welcome","protocol":1}"#)
        for seq in 1...20 { try live.send(line: HostileMessages.sample(seq: "\(seq)", ts: "\(time(seq))")) }
        let agent = try HostilePeer(port: gateway.agentPort)
        try agent.send(line: HostileMessages.hello(agent: "\"fwd-damaged\"", session: "\"cccc0000cccc0000\""))
        #expect(agent.nextLine(timeout: 5) == #"{"type":"welcome","protocol":1}"#)
        for seq in 1...count { try agent.send(line: HostileMessages.sample(seq: "\(seq)", ts: "\(time(seq))")) }
        try await Task.sleep(for: .seconds(2))
        // Records in the second half of the segment, which remote write has not read yet (the
        // receiver is down, one request of 50 samples is in memory): a byte flipped in five
        // places, as bit rot would. Records after them hold newer samples of the same series.
        try Self.flipBits(inLargestSegmentOf: directory + "/wal", places: 5)

        try await receiver.restart()
        // Every line until the gateway closes the connection or acknowledges everything.
        let (acknowledged, lines) = Self.answers(on: agent, until: count, seconds: 40)
        #expect(
            acknowledged < count,
            "the damaged records' samples were acknowledged (\(lines.count) lines, \(lines.suffix(3)))")
        #expect(
            lines.last?.contains("send the samples again") == true,
            "acknowledged \(acknowledged), \(lines.count) lines, \(lines.suffix(3))")

        // The live agent's first samples were before the damage: acknowledged. What it sends now
        // is refused with the same request.
        // The gateway may close the connection at the first of them: the rest then fail to send.
        for seq in 21...40 { try? live.send(line: HostileMessages.sample(seq: "\(seq)", ts: "\(time(seq))")) }
        let (liveAcknowledged, liveLines) = Self.answers(on: live, until: .max, seconds: 20)
        #expect(liveAcknowledged < 40, "\(liveLines)")
        #expect(liveLines.last?.contains("send the samples again") == true, "\(liveLines)")

        // Both agents send what they hold again: this time everything arrives and is acknowledged.
        agent.close()
        live.close()
        let resends = [
            ("fwd-damaged", "cccc0000cccc0000", acknowledged, count),
            ("fwd-live", "dddd0000dddd0000", liveAcknowledged, 40),
        ]
        for (name, session, acked, total) in resends {
            let again = try HostilePeer(port: gateway.agentPort)
            defer { again.close() }
            try again.send(line: HostileMessages.hello(agent: "\"\(name)\"", session: "\"\(session)\""))
            #expect(again.nextLine(timeout: 5) == #"{"type":"welcome","protocol":1}"#)
            for seq in (acked + 1)...total {
                try again.send(line: HostileMessages.sample(seq: "\(seq)", ts: "\(time(seq))"))
            }
            let last = Self.answers(on: again, until: total, seconds: 40).acknowledged
            #expect(last == total, "\(name)'s replay was acknowledged up to \(last)")
            // The promise: every sample arrived, each timestamp once. The resends came after the
            // records the loss passed over, never older than what was forwarded of their series.
            let all = try receiver.samples(selector(name))
            let allTimes = Set(all.map(\.0))
            let never = (1...total).filter { !allTimes.contains(Int64((time($0) * 1000).rounded())) }
            #expect(allTimes.count == all.count, "each timestamp once")
            #expect(never.isEmpty, "\(name): \(never.count) acknowledged samples never arrived: \(never.prefix(8))")
        }
    }

    /// The gateway's answers on `peer` until it acknowledges `target`, sends an error line (then
    /// the last line), closes, or `seconds` pass: the highest sequence acknowledged (at least
    /// `acknowledged`) and every line read.
    static func answers(on peer: HostilePeer, until target: Int, from acknowledged: Int = 0, seconds: Double)
        -> (acknowledged: Int, lines: [String])
    {
        var acknowledged = acknowledged
        var lines: [String] = []
        let end = Date().addingTimeInterval(seconds)
        while Date() < end, acknowledged < target {
            guard let line = peer.nextLine(timeout: end.timeIntervalSinceNow) else { break }
            lines.append(line)
            if let seq = HostileMessages.acknowledgedSequence(line) { acknowledged = max(acknowledged, seq) }
            if line.hasPrefix(#"{"type":"error""#) { break }
        }
        return (acknowledged, lines)
    }

    /// Flips one bit in each of `places` bytes spread over the second half of the log's largest
    /// segment, as bit rot would.
    static func flipBits(inLargestSegmentOf wal: String, places: UInt64) throws {
        let segment = try #require(
            try FileManager.default.contentsOfDirectory(atPath: wal).filter { $0.hasPrefix("wal") }.max { a, b in
                let size = { (name: String) in
                    (try? FileManager.default.attributesOfItem(atPath: wal + "/" + name)[.size] as? Int) ?? 0
                }
                return size(a) < size(b)
            })
        let handle = try #require(FileHandle(forUpdatingAtPath: wal + "/" + segment))
        let size = try handle.seekToEnd()
        for place in 0..<places {
            let offset = size / 2 + place * size / (2 * places + 2)
            try handle.seek(toOffset: offset)
            let byte = try #require(try handle.read(upToCount: 1)?.first)
            try handle.seek(toOffset: offset)
            try handle.write(contentsOf: Data([byte ^ 0x01]))
        }
        try handle.close()
    }

    @Test(
        "a loss found, then monitord killed before the agents sent again: the restart does not take the resends as known, every acknowledged sample arrives (audit 15, F05), even with remote-write.lost deleted meanwhile (audit 17, A) or unwritable (audit 19, A), or put back as an older copy (audit 19, B)",
        arguments: [LostFile.kept, .deleted, .unwritable, .olderCopy]
    )
    func lossThenRestart(lostFile: LostFile) async throws {
        let receiver = try await RemoteWriteTests.Receiver()
        defer { receiver.stop() }
        let directory = try makeTemporaryDirectory()
        let configuration = Self.configuration(
            mode: "forwarded", receiver: receiver, directory: directory, agentTimeout: "60s", maxSamplesPerSend: 50)
        let gateway = try await GatewayProcess.start(extraConfiguration: configuration, directory: directory)
        defer { gateway.process.signal(SIGKILL) }
        await receiver.kill()
        let blocker = directory + "/wal/remote-write.lost.tmp"
        var olderCopy: Data?
        if lostFile == .olderCopy {
            // The file as the start wrote it (no records passed over): a backup, say.
            try await Task.sleep(for: .milliseconds(500))
            olderCopy = FileManager.default.contents(atPath: directory + "/wal/remote-write.lost")
            #expect(olderCopy != nil)
        }
        if lostFile == .unwritable {
            // In the way of the file's replacement, as a full disk or an I/O error would be: after
            // the start wrote it (count 0), every later write fails.
            try await Task.sleep(for: .milliseconds(500))
            try FileManager.default.createDirectory(atPath: blocker, withIntermediateDirectories: false)
        }
        let count = 2000
        let start = Date().timeIntervalSince1970.rounded() - 300
        func time(_ seq: Int) -> Double { start + Double(seq) / 10 }
        let agent = try HostilePeer(port: gateway.agentPort)
        try agent.send(line: HostileMessages.hello(agent: "\"fwd-restart\"", session: "\"eeee0000eeee0000\""))
        #expect(agent.nextLine(timeout: 5) == #"{"type":"welcome","protocol":1}"#)
        for seq in 1...count { try agent.send(line: HostileMessages.sample(seq: "\(seq)", ts: "\(time(seq))")) }
        try await Task.sleep(for: .seconds(2))
        try Self.flipBits(inLargestSegmentOf: directory + "/wal", places: 3)
        try await receiver.restart()
        // The loss is found and the position passes it; the agent is told to send again, and the
        // gateway is killed before it does.
        let (acknowledged, lines) = Self.answers(on: agent, until: .max, seconds: 40)
        #expect(lines.last?.contains("send the samples again") == true, "\(lines.suffix(3))")
        // The position on disk past the records passed over (the restart must not send them).
        func position() -> UInt64 {
            guard let bytes = FileManager.default.contents(atPath: directory + "/wal/remote-write.position"),
                bytes.count == 28
            else { return 0 }
            return bytes.dropFirst(8).prefix(8).reversed().reduce(0) { $0 << 8 | UInt64($1) }
        }
        if lostFile == .unwritable {
            // The file cannot name the records passed over: the position must not pass them.
            try await Task.sleep(for: .seconds(3))
            #expect(position() < UInt64(count), "the position passed records the file does not name")
        } else {
            let positionEnd = Date().addingTimeInterval(10)
            while position() < UInt64(count), Date() < positionEnd { try await Task.sleep(for: .milliseconds(20)) }
            #expect(position() >= UInt64(count))
        }
        gateway.process.signal(SIGKILL)
        _ = await gateway.process.waitForExit()
        agent.close()
        switch lostFile {
        case .kept: break
        case .deleted:
            // Skipped by a restore or removed by a clean-up: the position alone would take the
            // records passed over as sent.
            try FileManager.default.removeItem(atPath: directory + "/wal/remote-write.lost")
        case .unwritable:
            try FileManager.default.removeItem(atPath: blocker)
        case .olderCopy:
            try #require(olderCopy).write(to: URL(fileURLWithPath: directory + "/wal/remote-write.lost"))
        }

        let restarted = try await GatewayProcess.start(
            agentPort: gateway.agentPort, extraConfiguration: configuration, directory: directory)
        defer { restarted.process.signal(SIGKILL) }
        // As an agent does: connect, send everything after the last ack, again after each "send again".
        var last = acknowledged
        for _ in 0..<5 where last < count {
            let again = try HostilePeer(port: restarted.agentPort)
            defer { again.close() }
            try again.send(line: HostileMessages.hello(agent: "\"fwd-restart\"", session: "\"eeee0000eeee0000\""))
            #expect(again.nextLine(timeout: 5) == #"{"type":"welcome","protocol":1}"#)
            // The gateway may close the connection at the first sample (asking for them again).
            for seq in (last + 1)...count {
                try? again.send(line: HostileMessages.sample(seq: "\(seq)", ts: "\(time(seq))"))
            }
            last = Self.answers(on: again, until: count, from: last, seconds: 30).acknowledged
        }
        #expect(last == count, "the resend was acknowledged up to \(last): \(restarted.process.output)")
        let all = try receiver.samples("process_ram_usage_percent{agent_number=\"fwd-restart\"}")
        let allTimes = Set(all.map(\.0))
        let never = (1...max(last, 1)).filter { !allTimes.contains(Int64((time($0) * 1000).rounded())) }
        #expect(allTimes.count == all.count, "each timestamp once")
        #expect(never.isEmpty, "\(never.count) acknowledged samples never arrived: \(never.prefix(8))")
    }

    @Test(
        "wal-max-size full of what the receiver has not confirmed: the agent's connection waits (keepalives, no error, no ack), and everything arrives once the receiver is back (audit 17, B)"
    )
    func fullLogHoldsTheConnection() async throws {
        let receiver = try await RemoteWriteTests.Receiver()
        defer { receiver.stop() }
        let gateway = try await Self.smallestLog(receiver: receiver)
        defer { gateway.process.signal(SIGKILL) }
        await receiver.kill()
        let count = Self.moreThanTheLogHolds
        let start = Date().timeIntervalSince1970.rounded() - 900
        @Sendable func time(_ seq: Int) -> Double { start + Double(seq) / 100 }
        let agent = try HostilePeer(port: gateway.agentPort)
        defer { agent.close() }
        try agent.send(
            line: HostileMessages.hello(
                agent: "\"fwd-full\"", session: "\"ffff0000ffff0000\"", extra: #","keepalive":true"#))
        #expect(agent.nextLine(timeout: 5) == #"{"type":"welcome","protocol":1}"#)
        // From another thread: once the gateway holds its reads, the socket's buffers fill and sends block.
        let sender = LineSender(agent)
        sender.start(count: count) { seq in HostileMessages.sample(seq: "\(seq)", ts: "\(time(seq))") }
        #expect(
            await eventually(timeout: 30) { gateway.process.output.contains("is full of samples") },
            "the log never filled: \(gateway.process.output.suffix(2000))")
        // Three times the silence limit (2 x agent-timeout) with the log full: the connection waits.
        let whileFull = Self.lines(from: agent, for: 12)
        #expect(
            whileFull.count >= 6 && whileFull.allSatisfy { $0 == Self.keepalive },
            "keepalives only while the log is full: \(whileFull.suffix(3))")
        let sentWhileFull = sender.sent
        #expect(sentWhileFull < count, "the log held every sample: the test proves nothing")

        try await receiver.restart()
        let back = Date()
        let (acknowledged, lines) = Self.answers(on: agent, until: count, seconds: 120)
        print(
            "FIGURE wal-max-size 1MiB full: \(sentWhileFull) of \(count) samples sent while the reads were held; "
                + "acknowledged up to \(acknowledged) \(Int(Date().timeIntervalSince(back))) s after the receiver came back"
        )
        #expect(
            acknowledged == count,
            "acknowledged up to \(acknowledged): \(lines.suffix(3)) \(gateway.process.output.suffix(2000))")
        #expect(!lines.contains { $0.hasPrefix(#"{"type":"error""#) }, "\(lines.suffix(3))")
        let stored = try receiver.samples("process_ram_usage_percent{agent_number=\"fwd-full\"}", window: "20m")
        let times = Set(stored.map(\.0))
        let missing = (1...max(acknowledged, 1)).filter { !times.contains(Int64((time($0) * 1000).rounded())) }
        #expect(missing.isEmpty, "\(missing.count) acknowledged samples never arrived: \(missing.prefix(8))")
        #expect(times.count == stored.count, "each timestamp once")
        // Said once, not at every try (audit 17, E).
        let said = gateway.process.output.components(separatedBy: "is full of samples").count - 1
        #expect(said == 1, "logged \(said) times")
    }

    @Test(
        "an agent that gives up on a connection waiting for room and replays on a new one: nothing acknowledged is lost (audit 22, F2)"
    )
    func replayAfterLeavingAWaitingConnection() async throws {
        let receiver = try await RemoteWriteTests.Receiver()
        defer { receiver.stop() }
        let gateway = try await Self.smallestLog(receiver: receiver)
        defer { gateway.process.signal(SIGKILL) }
        await receiver.kill()
        let count = Self.moreThanTheLogHolds
        let start = Date().timeIntervalSince1970.rounded() - 900
        @Sendable func time(_ seq: Int) -> Double { start + Double(seq) / 100 }
        @Sendable func sample(_ seq: Int) -> String { HostileMessages.sample(seq: "\(seq)", ts: "\(time(seq))") }
        let hello = HostileMessages.hello(
            agent: "\"fwd-leave\"", session: "\"dddd0000dddd0000\"", extra: #","keepalive":true"#)
        let first = try HostilePeer(port: gateway.agentPort)
        defer { first.close() }
        try first.send(line: hello)
        #expect(first.nextLine(timeout: 5) == #"{"type":"welcome","protocol":1}"#)
        let firstSender = LineSender(first)
        firstSender.start(count: count, line: sample)
        #expect(await eventually(timeout: 30) { gateway.process.output.contains("is full of samples") })
        try await Task.sleep(for: .seconds(2))
        // The agent gives up on the waiting connection and replays everything on a new one, as
        // monitor-agent does after its progress deadline; the old one lingers until it is replaced.
        // The hello and the start of the replay in one write, as an agent's often arrive: the replay
        // is read before the older connection is closed.
        let second = try HostilePeer(port: gateway.agentPort)
        defer { second.close() }
        // (A few hundred lines: a write larger than the socket's buffers would block the test while
        // the gateway holds the reads.)
        try second.send(line: ([hello] + (1...300).map(sample)).joined(separator: "\n"))
        LineSender(second).start(from: 301, count: count, line: sample)
        #expect(second.nextLine(timeout: 5) == #"{"type":"welcome","protocol":1}"#)
        try await Task.sleep(for: .seconds(2))
        try await receiver.restart()
        let (acknowledged, lines) = Self.answers(on: second, until: count, seconds: 120)
        #expect(acknowledged == count, "acknowledged up to \(acknowledged): \(lines.suffix(3))")
        let stored = try receiver.samples("process_ram_usage_percent{agent_number=\"fwd-leave\"}", window: "20m")
        let times = Set(stored.map(\.0))
        let missing = (1...max(acknowledged, 1)).filter { !times.contains(Int64((time($0) * 1000).rounded())) }
        print("FIGURE connection left while waiting for room: acknowledged \(acknowledged), missing \(missing.count)")
        #expect(missing.isEmpty, "\(missing.count) acknowledged samples never arrived: \(missing.prefix(8))")
    }

    /// A forwarded gateway on the smallest bound (1 MiB), which fills with a few thousand records,
    /// and agents that are not paced.
    static func smallestLog(receiver: RemoteWriteTests.Receiver) async throws -> GatewayProcess {
        let directory = try makeTemporaryDirectory()
        let configuration = Self.configuration(
            mode: "forwarded", receiver: receiver, directory: directory, agentTimeout: "2s", maxSamplesPerSend: 2000
        ).replacingOccurrences(
            of: "\n[remote-write]", with: "wal-max-size = 1MiB\nmax-samples-per-second = 100000\n\n[remote-write]")
        return try await GatewayProcess.start(extraConfiguration: configuration, directory: directory)
    }

    /// More samples than the log and the sockets' buffers hold (about 10 MB of lines, 600 s of samples).
    static let moreThanTheLogHolds = 60000

    /// Sends numbered lines on a peer from a thread of its own, while the test reads the answers:
    /// a write may block for as long as the gateway holds its reads.
    final class LineSender: @unchecked Sendable {
        private let peer: HostilePeer
        private let count = Mutex(0)

        init(_ peer: HostilePeer) { self.peer = peer }

        /// How many lines have been sent so far.
        var sent: Int { count.withLock { $0 } }

        func start(from first: Int = 1, count total: Int, line: @escaping @Sendable (Int) -> String) {
            Thread { [self] in
                for number in first...total {
                    guard (try? peer.send(line: line(number))) != nil else { return }
                    count.withLock { $0 = number }
                }
            }.start()
        }
    }

    enum LostFile: Sendable, CustomTestStringConvertible {
        case kept, deleted, unwritable, olderCopy
        var testDescription: String { "\(self)" }
    }
}
