import Foundation
import Testing

@testable import AgentKit
@testable import MonitorConfig

@Suite("Spool configuration and the agent's use of it")
struct SpoolAgentTests: ConfigurationErrorText {
    @Test("the spool keys parse, render and parse back")
    func configurationKeys() throws {
        let defaults = AgentConfiguration()
        #expect(defaults.spoolDirectory.isEmpty && defaults.spoolMaxBytes == 64 << 20 && defaults.spoolFsync == .always)
        let parsed = try AgentConfiguration.parse(
            "[agent]\nspool-directory = /var/lib/monitor-agent\nspool-max-size = 1GiB\nspool-fsync = 1500ms\n",
            file: "a.conf")
        #expect(parsed.spoolDirectory == "/var/lib/monitor-agent")
        #expect(parsed.spoolMaxBytes == 1 << 30)
        #expect(parsed.spoolFsync == .every(.milliseconds(1500)))
        #expect(try AgentConfiguration.parse(parsed.rendered(), file: "r") == parsed)
        #expect(
            parsed.rendered().contains(
                "spool-directory = /var/lib/monitor-agent\nspool-max-size = 1GiB\nspool-fsync = 1500ms\n"))
        for policy in [SpoolFsyncPolicy.always, .never, .every(.seconds(2))] {
            var configuration = AgentConfiguration()
            configuration.spoolFsync = policy
            #expect(try AgentConfiguration.parse(configuration.rendered(), file: "r") == configuration)
        }
    }

    @Test("bad spool values name the file, the line and what would be accepted")
    func configurationErrors() {
        #expect(
            agentError("spool-directory = var/lib/x\n")
                == "a.conf:2: spool-directory: \"var/lib/x\" is not an absolute path (or empty for no spool)")
        #expect(
            agentError("spool-fsync = sometimes\n")
                == "a.conf:2: spool-fsync: \"sometimes\" is not always, never or a duration (e.g. 1s)")
        #expect(
            agentError("spool-fsync = 0s\n")
                == "a.conf:2: spool-fsync: \"0s\" is not always, never or a duration (e.g. 1s)")
        #expect(
            agentError("spool-max-size = 1KiB\n") == "a.conf:2: spool-max-size: 1KiB is out of range (64KiB...1024GiB)")
        #expect(agentError("spool-max-size = 64KiB\n") == nil)
    }

    @Test("with a spool, a restarted agent resumes the session, numbers on, and replays what was not acknowledged")
    func agentStateResumes() throws {
        let fixture = SpoolFixture()
        defer { fixture.remove() }
        try FileManager.default.createDirectory(
            atPath: (fixture.directory as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        var configuration = AgentConfiguration()
        configuration.spoolDirectory = fixture.directory
        configuration.bufferCapacity = 5
        let first = AgentState(configuration: configuration, session: "aaaaaaaaaaaaaaaa")
        let fresh = try first.openSpool(logger: fixture.log.logger)
        #expect(!fresh.resumed && first.session == "aaaaaaaaaaaaaaaa")
        for _ in 1...8 { first.append(spoolSample(0)) }
        first.acknowledge(upTo: 2)
        // Killed here: the state is simply abandoned.

        let second = AgentState(configuration: configuration, session: "bbbbbbbbbbbbbbbb")
        let recovery = try second.openSpool(logger: fixture.log.logger)
        #expect(recovery.resumed && second.session == "aaaaaaaaaaaaaaaa")
        #expect(recovery.acknowledged == 2 && recovery.highestSequence == 8)
        // Six unacknowledged (3...8), but memory holds five: the oldest stays on disk only, to be
        // read back in its turn (issue 11: the spool delivers everything it holds).
        let buffered = second.shared.withLock { ($0.buffer.samples(after: 0, limit: 100), $0.buffer.droppedCount) }
        #expect(buffered.0.map(\.sequence) == [4, 5, 6, 7, 8])
        #expect(buffered.1 == 0)
        #expect(second.samples(after: 0, limit: 100).map(\.sequence) == [3])
        second.append(spoolSample(0))
        #expect(second.shared.withLock { $0.buffer.newestSequence } == 9)
        #expect(second.closeSpool() == (undelivered: 7, lastSequence: 9))
    }

    @Test(
        "numbering that would pass 2^63 starts a new spool session from 1, logged; the old session's acks are ignored")
    func newSessionAtTheCeiling() throws {
        var configuration = AgentConfiguration()
        let fixture = SpoolFixture()
        defer { fixture.remove() }
        try FileManager.default.createDirectory(
            atPath: fixture.directory, withIntermediateDirectories: true)
        try Data("\(spoolSession) 9223372036854775806\n".utf8).write(
            to: URL(fileURLWithPath: fixture.directory + "/acked"))
        configuration.spoolDirectory = fixture.directory
        let state = AgentState(configuration: configuration, session: "dddddddddddddddd")
        let recovery = try state.openSpool(logger: fixture.log.logger)
        #expect(recovery.session == spoolSession && state.session == spoolSession)
        for _ in 1...5 { state.append(spoolSample(0), logger: fixture.log.logger) }
        let top = UInt64(1) << 63
        let newSession = state.session
        #expect(newSession != spoolSession)
        // 2^63 - 1 and 2^63 were taken in the old session and dropped with it; 1...3 in the new one.
        #expect(state.shared.withLock { $0.buffer.samples(after: 0, limit: 10).map(\.sequence) } == [1, 2, 3])
        #expect(state.shared.withLock { $0.buffer.droppedCount } == 2)
        #expect(state.shared.withLock { $0.reconnectRequested })
        // A late ack from the old session's connection acknowledges nothing of the new one.
        state.acknowledge(upTo: top, session: spoolSession)
        #expect(state.bufferedCount == 3)
        #expect(
            fixture.log.messages.contains { $0.contains("2^63") && $0.contains("new session \(newSession)") },
            "\(fixture.log.messages)")
        #expect(state.closeSpool() == (undelivered: 3, lastSequence: 3))
        let again = AgentState(configuration: configuration, session: "eeeeeeeeeeeeeeee")
        let resumed = try again.openSpool(logger: fixture.log.logger)
        #expect(resumed.session == newSession && resumed.highestSequence == 3 && resumed.undelivered == 3)
    }

    @Test("a gateway that holds numbers the spool lost moves the numbering past them")
    func numberingJumpsPastTheGateway() throws {
        var configuration = AgentConfiguration()
        let fixture = SpoolFixture()
        defer { fixture.remove() }
        try FileManager.default.createDirectory(
            atPath: (fixture.directory as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        configuration.spoolDirectory = fixture.directory
        let state = AgentState(configuration: configuration, session: "cccccccccccccccc")
        _ = try state.openSpool(logger: fixture.log.logger)
        state.append(spoolSample(0))
        state.append(spoolSample(0))
        // The welcome says the gateway holds up to 5, but we only ever numbered 2 (GatewayConversation
        // believes this only within a spool's tail allowance, and then says to number on).
        state.acknowledge(upTo: 5, numberAfter: 5)
        state.append(spoolSample(0))
        #expect(state.shared.withLock { $0.buffer.samples(after: 0, limit: 10).map(\.sequence) } == [6])
    }

    @Test("the buffer finds the samples after a sequence across gaps")
    func bufferWithGaps() {
        var buffer = SampleBuffer(capacity: 10)
        for sequence: UInt64 in [3, 4, 9, 10, 20] { buffer.append(spoolSample(sequence)) }
        #expect(buffer.samples(after: 0, limit: 10).map(\.sequence) == [3, 4, 9, 10, 20])
        #expect(buffer.samples(after: 5, limit: 10).map(\.sequence) == [9, 10, 20])
        #expect(buffer.samples(after: 9, limit: 2).map(\.sequence) == [10, 20])
        #expect(buffer.samples(after: 20, limit: 10).isEmpty)
    }
}
