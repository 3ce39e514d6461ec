import Foundation
import Synchronization
import Testing

@testable import AgentKit
@testable import AgentSpool
@testable import MonitorConfig
@testable import MonitorModel
@testable import MonitorProtocol

/// The agent's rules for believing its gateway (issue 11, defects 1 and 2), and the spool-backed
/// memory window (defect 9) and lock split (defect 11) of its state.
@Suite("Agent: what it believes of the gateway")
struct AgentConversationTests {
    typealias Verdict = GatewayConversation.Verdict

    func welcomed(_ last: UInt64?, highest: UInt64, allowance: UInt64 = 0) -> (GatewayConversation, Verdict) {
        var conversation = GatewayConversation(tailAllowance: allowance)
        let verdict = conversation.receive(.welcome(protocolVersion: 1, lastSequence: last), highestNumbered: highest)
        return (conversation, verdict)
    }

    @Test("a welcome without last_seq, or with one the agent numbered, is believed")
    func believableWelcome() {
        #expect(welcomed(nil, highest: 0).1 == .welcomed(acknowledged: 0, numberAfter: nil))
        #expect(welcomed(0, highest: 0).1 == .welcomed(acknowledged: 0, numberAfter: nil))
        #expect(welcomed(7, highest: 7).1 == .welcomed(acknowledged: 7, numberAfter: nil))
        #expect(welcomed(3, highest: 7).1 == .welcomed(acknowledged: 3, numberAfter: nil))
    }

    @Test(
        "a last_seq beyond the agent's numbering is a protocol error unless a spool's lost tail explains it",
        arguments: [UInt64(8), 1000, 1 << 63, UInt64.max])
    func welcomeBeyondNumbering(last: UInt64) {
        guard case .protocolError(let reason) = welcomed(last, highest: 7).1 else {
            Issue.record("believed last_seq \(last)")
            return
        }
        #expect(reason.contains("\(last)") && reason.contains("up to 7"))
        let allowance: UInt64 = 1000
        let verdict = welcomed(last, highest: 7, allowance: allowance).1
        if last - 7 <= allowance {
            #expect(verdict == .welcomed(acknowledged: last, numberAfter: last))
        } else {
            #expect(verdict.isProtocolError)
        }
    }

    @Test("acks: never before the welcome, never beyond what was sent, behind is harmless")
    func acks() {
        var early = GatewayConversation(tailAllowance: 0)
        #expect(early.receive(.ack(sequence: 1), highestNumbered: 5).isProtocolError)

        var (conversation, _) = welcomed(2, highest: 5)
        #expect(conversation.receive(.ack(sequence: 2), highestNumbered: 5) == .acknowledged(2))
        #expect(conversation.receive(.ack(sequence: 3), highestNumbered: 5).isProtocolError)
        #expect(conversation.phase == .ended)

        (conversation, _) = welcomed(nil, highest: 5)
        conversation.willSend(upTo: 4)
        #expect(conversation.receive(.ack(sequence: 4), highestNumbered: 5) == .acknowledged(4))
        #expect(conversation.receive(.ack(sequence: 1), highestNumbered: 5) == .acknowledged(1))
        #expect(conversation.receive(.ack(sequence: UInt64.max), highestNumbered: 5).isProtocolError)
    }

    @Test("an ack of 0 is a keepalive after the welcome, and a protocol error before it")
    func keepalive() {
        var (conversation, _) = welcomed(nil, highest: 3)
        #expect(conversation.receive(.ack(sequence: 0), highestNumbered: 3) == .keptAlive)
        #expect(conversation.phase == .welcomed && conversation.highestSent == 0)
        var early = GatewayConversation(tailAllowance: 0)
        #expect(early.receive(.ack(sequence: 0), highestNumbered: 3).isProtocolError)
    }

    @Test("a second welcome is a protocol error; an error ends the conversation")
    func outOfOrder() {
        var (conversation, _) = welcomed(nil, highest: 0)
        #expect(
            conversation.receive(.welcome(protocolVersion: 1, lastSequence: nil), highestNumbered: 0).isProtocolError)
        var refused = GatewayConversation(tailAllowance: 0)
        #expect(refused.receive(.error(reason: "no"), highestNumbered: 0) == .refused("no"))
        #expect(refused.receive(.ack(sequence: 1), highestNumbered: 0).isProtocolError)
    }

    func spooledState(capacity: Int, fixture: SpoolFixture, fsync: SpoolFsyncPolicy = .always) throws -> AgentState {
        try FileManager.default.createDirectory(
            atPath: (fixture.directory as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        var configuration = AgentConfiguration()
        configuration.spoolDirectory = fixture.directory
        configuration.spoolFsync = fsync
        configuration.bufferCapacity = capacity
        let state = AgentState(configuration: configuration, session: "aaaaaaaaaaaaaaaa")
        _ = try state.openSpool(logger: fixture.log.logger)
        return state
    }

    /// What the writer sends, batch by batch, from the start.
    func everythingAfter(_ sequence: UInt64, in state: AgentState, batch: Int = 4) -> [UInt64] {
        var sent = sequence
        var result: [UInt64] = []
        while true {
            let samples = state.samples(after: sent, limit: batch)
            guard let last = samples.last else { return result }
            result += samples.map(\.sequence)
            sent = last.sequence
        }
    }

    @Test("with a spool, memory is a window: every sample is delivered in order, none dropped")
    func spoolWindow() throws {
        let fixture = SpoolFixture()
        defer { fixture.remove() }
        let state = try spooledState(capacity: 5, fixture: fixture)
        for _ in 1...40 { state.append(spoolSample(0)) }
        #expect(state.bufferedCount == 40)
        #expect(state.shared.withLock { ($0.buffer.inMemoryCount, $0.buffer.droppedCount) } == (5, 0))
        #expect(everythingAfter(0, in: state) == Array(1...40))
        #expect(everythingAfter(17, in: state) == Array(18...40))
        state.acknowledge(upTo: 30)
        #expect(state.bufferedCount == 10)
        #expect(everythingAfter(0, in: state) == Array(31...40))
        state.acknowledge(upTo: 40)
        #expect(state.bufferedCount == 0)
        #expect(state.shared.withLock { $0.acknowledgedCount } == 40)
    }

    @Test("a restarted agent delivers everything its spool holds, not only buffer-samples")
    func spoolWindowAcrossRestart() throws {
        let fixture = SpoolFixture()
        defer { fixture.remove() }
        do {
            let first = try spooledState(capacity: 5, fixture: fixture)
            for _ in 1...30 { first.append(spoolSample(0)) }
            first.acknowledge(upTo: 3)
            _ = first.closeSpool()
        }
        let second = try spooledState(capacity: 5, fixture: fixture)
        #expect(second.bufferedCount == 27)
        #expect(everythingAfter(0, in: second) == Array(4...30))
        second.append(spoolSample(0))
        #expect(everythingAfter(29, in: second) == [30, 31])
        #expect(second.shared.withLock { $0.buffer.droppedCount } == 0)
    }

    @Test("a gateway holding numbers a spool lost moves the numbering on, within the allowance only")
    func numberingAfterLostTail() throws {
        let fixture = SpoolFixture()
        defer { fixture.remove() }
        do {
            // A new spool has no tail to lose: nothing the gateway says above its numbering is believed.
            let first = try spooledState(capacity: 100, fixture: fixture, fsync: .never)
            #expect(first.shared.withLock { $0.tailAllowance } == 0)
            first.append(spoolSample(0))
            first.append(spoolSample(0))
            _ = first.closeSpool()
        }
        // Restarted on the same spool, which may have lost an unsynced tail.
        let state = try spooledState(capacity: 100, fixture: fixture, fsync: .never)
        let allowance = state.shared.withLock { $0.tailAllowance }
        #expect(allowance == UInt64((64 << 20) / SpoolFormat.sampleRecordBytes))
        state.acknowledge(upTo: 5, numberAfter: 5)
        state.append(spoolSample(0))
        #expect(everythingAfter(0, in: state) == [6])
    }

    @Test("the spool's lock is not the state's: a slow disk does not hold up acks or the writer")
    func spoolLockIsSeparate() async throws {
        let fixture = SpoolFixture()
        defer { fixture.remove() }
        let state = try spooledState(capacity: 10, fixture: fixture)
        state.append(spoolSample(0))
        // The spool's lock is held until the reads below are done (or 10 s, so that reads that wait for
        // it fail the test instead of hanging it); they must finish while it is still held.
        let holding = Atomic<Bool>(false)
        let readsDone = Atomic<Bool>(false)
        let readsFinishedUnderTheLock = Atomic<Bool>(false)
        let thread = Thread {
            state.spool.withLock { _ in
                holding.store(true, ordering: .sequentiallyConsistent)
                var waited = 0
                while !readsDone.load(ordering: .sequentiallyConsistent), waited < 10_000 {
                    usleep(1000)
                    waited += 1
                }
                readsFinishedUnderTheLock.store(
                    readsDone.load(ordering: .sequentiallyConsistent), ordering: .sequentiallyConsistent)
            }
            holding.store(false, ordering: .sequentiallyConsistent)
        }
        thread.start()
        while !holding.load(ordering: .sequentiallyConsistent) { usleep(1000) }
        #expect(state.bufferedCount == 1)
        #expect(state.samples(after: 0, limit: 10).map(\.sequence) == [1])
        _ = state.session
        readsDone.store(true, ordering: .sequentiallyConsistent)
        while holding.load(ordering: .sequentiallyConsistent) { usleep(1000) }
        let finishedUnderTheLock = readsFinishedUnderTheLock.load(ordering: .sequentiallyConsistent)
        #expect(finishedUnderTheLock, "the reads waited for the spool's lock")
    }
}

extension GatewayConversation.Verdict {
    var isProtocolError: Bool {
        if case .protocolError = self { return true }
        return false
    }
}
