import Foundation
import Logging
import NIOPosix
import Synchronization
import TestSupport
import Testing

@testable import GatewayConfig
@testable import GatewayKit
@testable import GatewayStore
@testable import GatewayWAL
@testable import GatewayWALFiles
@testable import MonitorConfig
@testable import MonitorModel
@testable import MonitorRemoteWrite

/// Remote write reading from the write-ahead log (issue 12, item 3): a position on disk says how
/// far the receiver confirmed, a restart resumes after it, a position file that cannot be trusted
/// is reported and forwarding starts again from the log's oldest record, and records the bound
/// deletes unread are counted. Against a real HTTP receiver on loopback.
@Suite("Remote write from the write-ahead log", .serialized)
struct LogForwardingTests {
    /// One run of a gateway's log and writer: the log opened with the writer told of every
    /// append and deletion, as GatewayService wires them.
    struct Run {
        let wal: WriteAheadLog
        let writer: RemoteWriter
        let receiver: ScriptedReceiver
        let forwarding: LogForwarding

        init(
            directory: String, log: LogCapture, script: [Int] = [], maximumBytes: Int = 64 << 20,
            batch: Int = 40
        ) async throws {
            try FileManager.default.createDirectory(
                atPath: (directory as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            receiver = try await ScriptedReceiver.start(script: script)
            var configuration = RemoteWriteConfiguration(
                url: try RemoteWriteEndpoint.parse("http://127.0.0.1:\(receiver.port)/api/v1/write").get())
            configuration.flushInterval = .milliseconds(20)
            configuration.maxSamplesPerSend = batch
            let writer = RemoteWriter(
                configuration: configuration,
                transport: HTTPRemoteWriteTransport(
                    endpoint: configuration.url, authorization: nil, group: MultiThreadedEventLoopGroup.singleton),
                logger: log.logger, clock: SystemWallClock(),
                backoffSleep: { _ in try await Task.sleep(for: .milliseconds(5)) }, random: { 0.5 })
            self.writer = writer
            let events = WriteAheadLog.Events(
                appended: { writer.logAppended(upTo: $0) }, dropped: { writer.logDropped(first: $0, count: $1) })
            let (opened, recovery) = try WriteAheadLog.open(
                directory: directory, maximumBytes: maximumBytes, policy: .always, logger: log.logger, events: events,
                forwardedThrough: ForwardingPosition.load(directory: directory).number
            ) { _ in }
            wal = opened
            forwarding = LogForwarding(wal: wal, newestForwarded: recovery.newestForwarded, logger: log.logger)
            writer.forward(from: forwarding)
        }

        func value(_ name: String, reason: String? = nil) -> Double {
            writer.families().first { $0.name == name }?.samples.filter {
                reason == nil || $0.labels == [MetricLabel(name: "reason", value: reason!)]
            }.reduce(0) { $0 + $1.value } ?? -1
        }

        /// The sequence numbers of the agent samples in every request the receiver got, in order.
        var received: [UInt64] {
            receiver.requests.flatMap { request -> [UInt64] in
                guard let decoded = try? decodeBody(request.body) else { return [] }
                return decoded.timeseries.filter { $0.labels[0].value == "process_ram_usage_percent" }
                    .flatMap { $0.samples.map { UInt64($0.value) } }
            }
        }
    }

    /// Record `n`: agent `a`'s sample `n`, its RAM percentage `n` (what the receiver's series shows).
    static func record(_ n: UInt64) -> WALRecord {
        WALRecord(
            agent: "a", session: "0123456789abcdef", arrival: 1_700_000_000 + Double(n),
            sample: Sample(
                sequence: n, timestamp: 1_700_000_000 + Double(n), ramUsagePercent: Double(n % 100),
                cpuUsagePercent: 1, processRAMGigabytes: 0.01, cpuInterrupts: n))
    }

    static func waitUntil(_ seconds: Double = 20, _ condition: () -> Bool) async -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if condition() { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return condition()
    }

    /// A log holding `records`, written by a run that never forwarded them.
    static func writeLog(_ directory: String, records: ClosedRange<UInt64>, log: LogCapture) async throws {
        try FileManager.default.createDirectory(
            atPath: (directory as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let (wal, _) = try WriteAheadLog.open(
            directory: directory, maximumBytes: 64 << 20, policy: .always, logger: log.logger
        ) { _ in }
        _ = try wal.append(records.map(Self.record))
        await wal.close()
    }

    static func directory() -> String { temporaryPath("walfwd-test") + "/wal" }

    @Test("the confirmed position survives a restart: the next run sends exactly what was unsent, in order")
    func positionSurvivesRestart() async throws {
        let directory = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: (directory as NSString).deletingLastPathComponent) }
        let log = LogCapture()
        do {
            let run = try await Run(directory: directory, log: log)
            let sender = Task { await run.writer.run() }
            _ = try run.wal.append((1...30).map(Self.record))
            #expect(await Self.waitUntil { run.value("monitord_remote_write_samples_sent_total") == 120 })
            #expect(await Self.waitUntil { ForwardingPosition.load(directory: directory).number == 30 })
            sender.cancel()
            await sender.value
            await run.wal.close()
        }
        // A run whose forwarding got nowhere before it was killed: records 31...50 are in the log only.
        do {
            let (wal, _) = try WriteAheadLog.open(
                directory: directory, maximumBytes: 64 << 20, policy: .always, logger: log.logger
            ) { _ in }
            _ = try wal.append((31...50).map(Self.record))
            await wal.close()
        }
        #expect(ForwardingPosition.load(directory: directory) == .init(number: 30, problem: nil, lossesNonce: 0))
        let run = try await Run(directory: directory, log: log)
        #expect(run.forwarding.confirmed == 30)
        let sender = Task { await run.writer.run() }
        #expect(await Self.waitUntil { run.value("monitord_remote_write_samples_sent_total") == 80 })
        #expect(await Self.waitUntil { ForwardingPosition.load(directory: directory).number == 50 })
        sender.cancel()
        await sender.value
        await run.wal.close()
        #expect(run.received == (31...50).map { $0 % 100 }, "exactly the unsent records, once, in order")
    }

    @Test(
        "a torn, garbage or planted position file is reported and forwarding starts from the log's oldest record",
        arguments: [
            ("torn", Array(ForwardingPosition.encode(7).prefix(11))),
            ("garbage", [UInt8](repeating: 0xA5, count: ForwardingPosition.fileBytes)),
            ("flipped", ForwardingPosition.encode(7).enumerated().map { $0.offset == 9 ? $0.element ^ 1 : $0.element }),
            ("long", ForwardingPosition.encode(7) + [0]),
            ("empty", []),
        ])
    func untrustedPositionFile(name: String, bytes: [UInt8]) async throws {
        let directory = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: (directory as NSString).deletingLastPathComponent) }
        let log = LogCapture()
        try await Self.writeLog(directory, records: 1...12, log: log)
        try Data(bytes).write(to: URL(fileURLWithPath: directory + "/" + ForwardingPosition.fileName))
        let run = try await Run(directory: directory, log: log)
        #expect(run.forwarding.confirmed == 0, "\(name)")
        #expect(
            log.messages.contains { $0.hasPrefix("error") && $0.contains("forwarding position unusable") },
            "\(name): \(log.messages)")
        let sender = Task { await run.writer.run() }
        #expect(await Self.waitUntil { run.value("monitord_remote_write_samples_sent_total") == 48 }, "\(name)")
        #expect(await Self.waitUntil { ForwardingPosition.load(directory: directory).number == 12 }, "\(name)")
        sender.cancel()
        await sender.value
        await run.wal.close()
        #expect(run.received == Array(1...12), "\(name): everything in the log, once, in order")
    }

    /// Audit 5, finding 04: one flipped bit cut the segment there, and every later record of it
    /// (acknowledged, unforwarded, other agents') was gone. Damage in the middle now costs only its
    /// record, at recovery and in the forwarder's reads, also where a read's 64 KiB chunk ends inside
    /// the damaged record or the one after it.
    @Test("damaged records in an unforwarded segment cost themselves alone: every other record is forwarded")
    func damagedRecordsArePassedOver() async throws {
        let directory = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: (directory as NSString).deletingLastPathComponent) }
        let log = LogCapture()
        let count: UInt64 = 2000
        try await Self.writeLog(directory, records: 1...count, log: log)
        var one: [UInt8] = []
        WALFormat.append(Self.record(1), to: &one)
        let path = directory + "/" + WALFormat.segmentName(1)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(bytes.count == WALFormat.headerBytes + Int(count) * one.count)
        // Record 20; the record around the first 64 KiB boundary and the one after it; the last.
        let boundary = UInt64((65536 - WALFormat.headerBytes) / one.count) + 1
        let damaged: [UInt64] = [20, boundary, boundary + 2, count]
        for number in damaged {
            bytes[WALFormat.headerBytes + Int(number - 1) * one.count + one.count - 5] ^= 0x08
        }
        try Data(bytes).write(to: URL(fileURLWithPath: path))

        let run = try await Run(directory: directory, log: log, batch: 500)
        let sender = Task { await run.writer.run() }
        let expected = (1...count).filter { !damaged.contains($0) }
        #expect(
            await Self.waitUntil {
                run.value("monitord_remote_write_samples_sent_total") == Double(4 * expected.count)
            })
        #expect(await Self.waitUntil { ForwardingPosition.load(directory: directory).number == count })
        sender.cancel()
        await sender.value
        await run.wal.close()
        #expect(run.received == expected.map { $0 % 100 }, "every intact record, once, in order")
        #expect(log.messages.contains { $0.contains("4 damaged records passed over") }, "\(log.messages)")
    }

    @Test("a position past the log's end (records a power cut took) is brought back: new records are not skipped")
    func positionPastTheEnd() async throws {
        let directory = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: (directory as NSString).deletingLastPathComponent) }
        let log = LogCapture()
        try FileManager.default.createDirectory(
            atPath: (directory as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try ForwardingPosition.store(1000, directory: directory)
        let run = try await Run(directory: directory, log: log)
        #expect(run.forwarding.confirmed == 0)
        #expect(log.messages.contains { $0.contains("past the write-ahead log's last record") })
        let sender = Task { await run.writer.run() }
        _ = try run.wal.append((1...5).map(Self.record))
        #expect(await Self.waitUntil { run.value("monitord_remote_write_samples_sent_total") == 20 })
        sender.cancel()
        await sender.value
        await run.wal.close()
        #expect(run.received == Array(1...5))
    }

    @Test("wal-max-size deleting records not yet forwarded counts them as wal_full; every other record arrives")
    func boundDropsAreCounted() async throws {
        let directory = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: (directory as NSString).deletingLastPathComponent) }
        let log = LogCapture()
        // 64 KiB segments, three at most; the receiver fails the first 60 attempts, so the writer is
        // stuck on its first batch (10 records) while the log overflows.
        let run = try await Run(
            directory: directory, log: log, script: Array(repeating: 503, count: 60), maximumBytes: 192 << 10)
        let sender = Task { await run.writer.run() }
        _ = try run.wal.append((1...10).map(Self.record))
        #expect(await Self.waitUntil { run.receiver.requests.count >= 1 })
        let total: UInt64 = 6000
        for start in stride(from: UInt64(11), through: total, by: 100) {
            _ = try run.wal.append((start...min(total, start + 99)).map(Self.record))
        }
        let walDropped = run.wal.statistics.droppedRecords
        #expect(walDropped > 0)
        #expect(
            await Self.waitUntil(60) {
                run.value("monitord_remote_write_queue_length") == 0
                    && run.value("monitord_remote_write_samples_sent_total") / 4
                        + run.value("monitord_remote_write_samples_dropped_total", reason: "wal_full") / 4
                        == Double(total)
            })
        sender.cancel()
        await sender.value
        await run.wal.close()
        let lost = UInt64(run.value("monitord_remote_write_samples_dropped_total", reason: "wal_full") / 4)
        let delivered = UInt64(run.value("monitord_remote_write_samples_sent_total") / 4)
        print("wal_full: log deleted \(walDropped) records, \(lost) of them unread (counted), \(delivered) delivered")
        #expect(lost > 0 && lost <= walDropped && walDropped - lost <= 10, "only the batch in flight escapes the count")
        #expect(delivered + lost == total)
        #expect(log.messages.contains { $0.contains("deleted from the write-ahead log by wal-max-size") })
    }

    @Test(
        "after a restart, samples sent again that are not newer than what was forwarded before it go no further (audit 14, F02: a stock Prometheus refused them and a split dropped new samples along)"
    )
    func resentSamplesAfterRestartAreNotForwardedAgain() async throws {
        let directory = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: (directory as NSString).deletingLastPathComponent) }
        let log = LogCapture()
        // Recent samples: the order guard forgets series quiet for 3 hours (receivers refuse those anyway).
        let start = Date().timeIntervalSince1970.rounded() - 600
        func record(_ n: UInt64) -> WALRecord {
            var record = Self.record(n)
            record.sample.timestamp = start + Double(n)
            return record
        }
        do {
            let run = try await Run(directory: directory, log: log)
            let sender = Task { await run.writer.run() }
            _ = try run.wal.append((1...40).map(record))
            #expect(await Self.waitUntil { ForwardingPosition.load(directory: directory).number == 40 })
            sender.cancel()
            await sender.value
            await run.wal.close()
        }
        // The next start: the agent, whose acks lagged, sends 21...60 again (its sequences forgotten
        // after a loss, say): 21...40 are in the receiver already, older than its newest.
        let run = try await Run(directory: directory, log: log)
        #expect(run.forwarding.newestForwarded == ["a": start + 40])
        let sender = Task { await run.writer.run() }
        _ = try run.wal.append((21...60).map(record))
        #expect(await Self.waitUntil { ForwardingPosition.load(directory: directory).number == 80 })
        sender.cancel()
        await sender.value
        await run.wal.close()
        #expect(run.received == (41...60).map { $0 % 100 }, "only the new samples")
        #expect(run.value("monitord_remote_write_samples_dropped_total", reason: "out_of_order") == 80)
    }

    @Test(
        "a log that cannot be read (its directory deleted) is reported once, not at every flush interval (audit 8/08)")
    func unreadableLogIsThrottled() async throws {
        let directory = Self.directory()
        defer { try? FileManager.default.removeItem(atPath: (directory as NSString).deletingLastPathComponent) }
        let log = LogCapture()
        let run = try await Run(directory: directory, log: log)
        _ = try run.wal.append((1...30).map(Self.record))
        try FileManager.default.removeItem(atPath: directory)
        // The writer reads through a counter: a failing read is tried again once per flush interval.
        let counted = CountedReads(run.forwarding)
        run.writer.forward(from: counted)
        let sender = Task { await run.writer.run() }
        // A second at a flush interval of 20 ms: dozens of failed reads.
        try await Task.sleep(for: .seconds(1))
        sender.cancel()
        await sender.value
        await run.wal.close()
        let lines = log.messages.filter { $0.contains("cannot read the write-ahead log") }
        #expect(lines.count == 1, "\(lines.count) lines: \(lines.prefix(3))")
        // Not in a loop: with a full batch waiting in the unreadable log, the sender read again at
        // once, about 10,000 times a second on a whole core. 1 s / 20 ms is 50 tries.
        let reads = counted.reads.withLock { $0 }
        #expect(reads >= 2 && reads <= 100, "\(reads) reads of the unreadable log in 1 s")
        #expect(run.value("monitord_remote_write_samples_sent_total") == 0)
    }
}

/// A log that counts the writer's reads, passing everything through.
final class CountedReads: ForwardingLog {
    let base: any ForwardingLog
    let reads = Mutex(0)

    init(_ base: any ForwardingLog) { self.base = base }

    var confirmed: UInt64 { base.confirmed }
    var lastAppended: UInt64 { base.lastAppended }

    func read(after number: UInt64, limit: Int) throws -> LoggedSamples {
        reads.withLock { $0 += 1 }
        return try base.read(after: number, limit: limit)
    }

    func confirm(upTo number: UInt64) throws { try base.confirm(upTo: number) }
}
