import DaemonKit
import GatewayConfig
import GatewayStore
import GatewayWAL
import Logging
import MonitorConfig
import MonitorModel
import MonitorProtocol
import MonitorSystem
import NIOCore
import NIOSSL

/// One connection on the agent port, run on its channel's event loop: feeds each framed object
/// to the connection's ``PeerSession`` and carries out what it answers.
///
/// Everything happens where the bytes arrive, without a task per connection: a sample costs no
/// hop to another thread and back. What a read cycle brings (up to several socket reads, each a
/// batch of objects) is answered with one cumulative ack and one flush, in
/// ``channelReadComplete(context:)``.
///
/// With a write-ahead log, the cycle's new native samples are written to it before its ack; with
/// `acknowledge = durable`, what the cycle answers (welcome, ack) is held, and so is the next read,
/// until the log reports on disk everything written before it (``holdAnswersUntilDurable(context:)``).
/// With `acknowledge = forwarded`, an ack waits in a ``ForwardedAckQueue`` until remote write has
/// confirmed the log past the cycle's records (``oweForwardedAck(_:context:)``); reads go on meanwhile.
///
/// Its deadlines (hello, a message begun, silence) are times it keeps, checked by the listener's
/// ``DeadlineSweeper``: no scheduled task per connection, whose cancelling costs NIO a search of
/// every task on the loop.
final class AgentConnectionHandler: ChannelDuplexHandler, SweptDeadlines {
    typealias InboundIn = MessageBatch<[UInt8]>
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// What a connection reads of the configuration after it started: the figures alone, not a
    /// copy of the whole configuration in every connection (hundreds of bytes each, 10,000 times).
    private struct Limits {
        var maxConnections: Int
        var maxConnectionsPerAddress: Int
        var helloTimeout: Duration
        var agentTimeout: Duration

        init(_ configuration: GatewayConfiguration) {
            maxConnections = configuration.maxConnections
            maxConnectionsPerAddress = configuration.maxConnectionsPerAddress
            helloTimeout = configuration.helloTimeout
            agentTimeout = configuration.agentTimeout
        }
    }

    private let state: GatewayState
    private let limits: Limits
    private let transport: Transport
    private var session: PeerSession
    private let remote: String
    private let sourceAddress: String
    /// The limiter's count of this connection, while it holds one (it must then be released once).
    private var ticket: ConnectionLimiter.Ticket?
    private var identified = false
    /// Set once the connection is being closed by us: nothing it sends afterwards is handled.
    private var finished = false
    /// Something was written in this read cycle and waits for the flush at its end.
    private var unflushed = false
    /// When the hello must have arrived by; nil once it has.
    private var helloDue: NIODeadline?
    /// When the message begun must be whole by; nil between messages and during waits of ours.
    private var messageDue: NIODeadline?
    /// When the decoder last delivered something: the connection is closed after `silenceLimit`
    /// without. Twice the agent-timeout: in between, the agent is shown as late (connected, not on
    /// time) rather than gone.
    private var lastProgress = NIODeadline.now()
    private let silenceLimit: TimeAmount
    private let sweeper: DeadlineSweeper
    /// The last read ended inside a message: its deadline runs (or restarts after a wait of ours).
    private var inMessage = false
    private var pacing: TokenBucket
    /// How long the connection still owes for the samples of this read cycle (its pacing debt).
    private var owed = Duration.zero
    /// Reading is paused until the pacing debt is paid; `readRequested` holds a read asked for meanwhile.
    private var paused = false
    private var readRequested = false
    private var context: ChannelHandlerContext?
    /// The write-ahead log, when `wal-directory` is set, and whether answers wait for it (`acknowledge = durable`).
    private let wal: WriteAheadLog?
    private let durable: Bool
    /// With `durable`: the cycle's answers, in order, until the log has what they promise on disk.
    private var heldAnswers: [GatewayMessage] = []
    /// Reading is held while the answers wait for the log.
    private var awaitingDurability = false
    /// Samples of this connection were written to the log since the last wait for it.
    private var loggedSinceWait = false
    /// With `forwarded`: the cycle's samples, while the log is full of records the receiver has
    /// not confirmed. Reading is held and nothing is acknowledged until they are written
    /// (``waitForRoom(_:context:)``); the agent keeps them meanwhile.
    private var recordsAwaitingRoom: [WALRecord] = []
    /// The log's ``WriteAheadLog/confirmations`` when the append was refused: tried again once it moves.
    private var confirmationsWhenFull: UInt64 = 0
    /// With `acknowledge = forwarded`: how far remote write has confirmed the log, and the acks
    /// that wait for it.
    private let forwarded: ForwardedAcknowledgements?
    private var owedAcks = ForwardedAckQueue()
    /// Losses of log records reported before this connection started: none of its samples were in them.
    private let lossReportsAtStart: UInt64
    /// With `forwarded`: the losses the log had found when this connection started. After a later one,
    /// this connection's samples are not logged: its agent holds older ones the loss took, which must
    /// reach the receiver first (``WriteAheadLog/widenLossesToLastAppended()``).
    private let logLossesAtStart: UInt64?
    /// When the agent is next told, by a keepalive (ack 0), that its acks wait for the receiver;
    /// nil while none is owed or the agent did not ask for keepalives.
    private var keepaliveDue: NIODeadline?
    /// Shorter than any agent's progress deadline (at least 2 s).
    static let keepaliveInterval = TimeAmount.seconds(1)

    /// - Parameter remoteAddress: the peer's address, known as soon as the connection is accepted.
    init(
        state: GatewayState, configuration: GatewayConfiguration, transport: Transport, remoteAddress: SocketAddress?,
        sweeper: DeadlineSweeper
    ) {
        self.state = state
        self.sweeper = sweeper
        self.silenceLimit = TimeAmount(configuration.agentTimeout * 2)
        self.limits = Limits(configuration)
        self.transport = transport
        let remote = remoteAddress.map(\.hostAndPort) ?? "unknown"
        self.remote = remote
        self.sourceAddress = remoteAddress?.ipAddress ?? remote
        var forwardingSink: (@Sendable (Sample, String, Double) -> Void)?
        if let forwarder = state.forwarder {
            forwardingSink = { sample, agent, now in forwarder.enqueue(sample, agent: agent, now: now) }
        }
        let sampleEventSink: @Sendable (SampleEvent, String) -> Void = { [state] event, agent in
            state.sampleEvent(event, agent: agent)
        }
        self.session = PeerSession(
            store: state.store,
            remoteAddress: remote,
            allowReportFormatAgents: configuration.allowReportFormatAgents,
            maximumAgents: configuration.maxAgents,
            maximumAnonymousAgents: configuration.anonymousAgentQuota,
            tokens: configuration.tokens,
            requireTLS: state.tlsContext != nil,
            clockSkewTolerance: configuration.clockSkewTolerance,
            onNewSample: forwardingSink,
            onSampleEvent: sampleEventSink
        )
        self.wal = state.wal
        self.durable = state.wal != nil && configuration.acknowledge == .durable
        self.forwarded = configuration.acknowledge == .forwarded ? state.forwardedAcknowledgements : nil
        self.lossReportsAtStart = forwarded?.lossReports ?? 0
        // After the reports' count: a loss between the two reads is then seen by one of them.
        self.logLossesAtStart = forwarded != nil ? state.wal?.losses : nil
        self.pacing = TokenBucket(
            rate: Double(configuration.maxSamplesPerSecond),
            burst: Double(configuration.maxSamplesPerSecond),
            now: .now
        )
        session.collectsRecords = state.wal != nil
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { start(context: context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        sweeper.unregister(self, on: context.eventLoop)
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    /// Admits the connection or refuses it with an error line, and starts the hello deadline.
    private func start(context: ChannelHandlerContext) {
        guard ticket == nil, !finished else { return }
        state.counters.connectionAccepted()
        let channel = context.channel
        let handler = NIOLoopBound(self, eventLoop: channel.eventLoop)
        switch state.limiter.admit(
            sourceAddress,
            maximumTotal: limits.maxConnections,
            maximumPerAddress: limits.maxConnectionsPerAddress,
            replace: { channel.eventLoop.execute { handler.value.replaced() } }
        ) {
        case .admitted(let ticket), .replacing(let ticket):
            self.ticket = ticket
        case .refused(let reason):
            let text =
                reason == .tooManyConnections
                ? "the gateway has its maximum of \(limits.maxConnections) connections (max-connections), all of them agents that said hello"
                : "\(sourceAddress) has its maximum of \(limits.maxConnectionsPerAddress) connections that have not said hello yet (max-connections-per-address)"
            state.refused(reason, text, remote: remote, agent: nil)
            finish(context: context, errorLine: text)
            return
        }
        // The hello deadline runs independent of whether the peer sends anything at all: a peer
        // trickling bytes that never form a hello is closed too.
        let now = NIODeadline.now()
        helloDue = now + TimeAmount(limits.helloTimeout)
        lastProgress = now
        sweeper.register(self, on: channel.eventLoop)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !finished else { return }
        let batch = unwrapInboundIn(data)
        lastProgress = .now()
        session.isTLS = transport.isTLS
        // What earlier reads of this cycle brought is acknowledged even if this read ends the connection,
        // as when every read was answered on its own: only the refused read's samples go unacknowledged.
        let acknowledgedBefore = session.pendingAck
        for object in batch.messages {
            let wasAnonymous = session.agentName == nil
            let action = session.receive(object, now: state.clock.now())
            // Registered before the welcome goes out, so that a token revoked meanwhile gets no welcome.
            if wasAnonymous, let agent = session.agentName {
                helloDue = nil
                guard identify(agent, channel: context.channel) else {
                    refuse(
                        .tokenRevoked, LiveConnections.revocation(of: agent), acknowledging: acknowledgedBefore,
                        context: context)
                    return
                }
                if case .native = session.identity, let ticket {
                    // Replaced an instant before its hello: it is being closed for a newcomer already.
                    guard state.limiter.identified(ticket) else {
                        refuse(.replaced, replacedText, acknowledging: acknowledgedBefore, context: context)
                        return
                    }
                    identified = true
                }
            }
            switch action {
            case .none:
                break
            case .reply(let message):
                write(message, context: context)
            case .refuse(let reason, let text):
                refuse(reason, text, acknowledging: acknowledgedBefore, context: context)
                return
            }
        }
        if let error = batch.error {
            refuse(.framing, "\(error)", acknowledging: acknowledgedBefore, context: context)
            return
        }
        if session.agentName != nil { renewMessageDeadline(after: batch, channel: context.channel) }
        // Over its rate, the connection stops reading for a while: TCP slows the sender.
        owed = pacing.take(session.takeSampleCount(), now: .now)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if !finished, logNewSamples(context: context, mayWait: true) { answerCycle(context: context) }
        if unflushed {
            unflushed = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    /// What follows a read cycle whose samples are in the log: its ack, its pacing, its durability wait.
    private func answerCycle(context: ChannelHandlerContext) {
        if case .ack(let sequence)? = session.takePendingAck() { acknowledge(upTo: sequence, context: context) }
        if owed > .zero { pause(for: owed, context: context) }
        if !heldAnswers.isEmpty { holdAnswersUntilDurable(context: context) }
    }

    /// Tells the agent that every sample up to `sequence` is kept, so that it may drop them from its
    /// spool. The one place an ack leaves the gateway: written here, flushed at the end of the read cycle.
    private func acknowledge(upTo sequence: UInt64, context: ChannelHandlerContext) {
        if forwarded != nil {
            oweForwardedAck(sequence, context: context)
        } else {
            write(.ack(sequence: sequence), context: context)
        }
    }

    /// Writes an answer, or holds it with `acknowledge = durable` (see ``holdAnswersUntilDurable(context:)``).
    private func write(_ message: GatewayMessage, context: ChannelHandlerContext) {
        if forwarded != nil, case .welcome(let version, _) = message {
            // The welcome's last_seq would let the agent forget what the log holds unforwarded,
            // which a gateway that dies for good then loses: with forwarded it promises nothing,
            // the agent replays what it holds, and replays the store knows are acknowledged once
            // the log is confirmed past their first copies.
            send(.welcome(protocolVersion: version, lastSequence: nil), context: context)
        } else if durable {
            heldAnswers.append(message)
        } else {
            send(message, context: context)
        }
    }

    private func send(_ message: GatewayMessage, context: ChannelHandlerContext) {
        context.write(
            wrapOutboundOut(context.channel.allocator.buffer(bytes: ProtocolCodec.encode(message))), promise: nil)
        unflushed = true
    }

    // MARK: The write-ahead log

    /// Writes the native samples the store took as new since the last call to the log, before any ack
    /// that covers them is written. False when the log could not take them: the connection is then
    /// ended with an error line and no ack, and the store forgets the agent's last sequence
    /// (`durable`, or remote write reading the log), so that its next welcome does not promise them
    /// and the agent sends them again. With `mayWait`, a log full of what the receiver has not
    /// confirmed holds the connection instead of ending it (``waitForRoom(_:context:)``).
    private func logNewSamples(context: ChannelHandlerContext?, mayWait: Bool = false) -> Bool {
        log(session.takeNewRecords(), context: context, mayWait: mayWait)
    }

    private func log(_ records: [WALRecord], context: ChannelHandlerContext?, mayWait: Bool) -> Bool {
        guard let wal, !records.isEmpty else { return true }
        do throws(FileOperationError) {
            guard try wal.append(records, unlessLossesAfter: logLossesAtStart) != nil else {
                notLogged(records, context: context, errorLine: Self.lostRecordsLine)
                return false
            }
            loggedSinceWait = true
            return true
        } catch {
            if error.isFull, mayWait, let context {
                waitForRoom(records, context: context)
                return false
            }
            // The log has said why; the agent keeps its samples.
            notLogged(records, context: context, errorLine: "the gateway could not keep the samples: \(error)")
            return false
        }
    }

    /// The log is full of records the receiver has not confirmed (`acknowledge = forwarded`): the
    /// connection keeps its place and its samples, reads nothing more and acknowledges nothing until
    /// a confirmation makes room; TCP holds the agent back meanwhile. Ending it instead made every
    /// agent reconnect and send its whole backlog again, which filled the log with copies and let
    /// nothing through for minutes (audit 17, B). The agent is kept with keepalives if it asked.
    private func waitForRoom(_ records: [WALRecord], context: ChannelHandlerContext) {
        recordsAwaitingRoom = records
        confirmationsWhenFull = wal?.confirmations ?? 0
        stopMessageDeadlineForOurWait()
        if keepaliveDue == nil, session.wantsKeepalive { keepaliveDue = .now() + Self.keepaliveInterval }
    }

    /// Called by the sweeper while the connection waits for room: tries the append again once the
    /// receiver has confirmed something since it was refused.
    private func retryWaitingRecords(context: ChannelHandlerContext) {
        guard let wal, wal.confirmations != confirmationsWhenFull else { return }
        let records = recordsAwaitingRoom
        recordsAwaitingRoom = []
        if log(records, context: context, mayWait: true) {
            // The wait was ours: the silence and message deadlines start afresh after it.
            lastProgress = .now()
            answerCycle(context: context)
            // Not pushed back by a retry that got in: while the log drains, a connection may wait
            // again within the second, and its acks stay behind; the agent must still hear one
            // (audit 22, F3: every agent gave up on its gateway 2-25 s after the receiver came back).
            if keepaliveDue == nil { scheduleKeepalive() }
            if !paused, !awaitingDurability {
                startMessageDeadline(channel: context.channel)
                if readRequested {
                    readRequested = false
                    context.read()
                }
            }
        }
        if unflushed {
            unflushed = false
            context.flush()
        }
    }

    /// Why a connection ends whose agent must send again what the log lost.
    static let lostRecordsLine =
        "the gateway lost records of its write-ahead log before forwarding them; send the samples again"

    private func notLogged(_ records: [WALRecord], context: ChannelHandlerContext?, errorLine: String) {
        // Remote write reads native samples from the log: unlogged ones must come again to be forwarded.
        if durable || state.forwarder != nil {
            state.store.forgetUnlogged(records.count, of: records[0].agent, connection: session.connection?.id)
        }
        heldAnswers = []
        if let context, !finished {
            finish(context: context, errorLine: errorLine)
        }
    }

    /// With `durable`: holds the next read until everything written to the log so far (this cycle's
    /// samples, and whatever a welcome's last_seq covers) is as durable as `wal-fsync` asks, then sends
    /// the held answers. The wait is a callback on the log's sync thread, hopped back to this event
    /// loop: the loop goes on serving other connections meanwhile.
    private func holdAnswersUntilDurable(context: ChannelHandlerContext, thenClose errorLine: String? = nil) {
        guard let wal else { return }
        let answers = heldAnswers
        heldAnswers = []
        awaitingDurability = true
        stopMessageDeadlineForOurWait()
        let agent = session.agentName
        let samplesWaitedFor = loggedSinceWait
        loggedSinceWait = false
        let promise = context.eventLoop.makePromise(of: Void.self)
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        promise.futureResult.whenComplete { result in
            handler.value.durabilityReported(
                result, answers: answers, agent: agent, samplesWaitedFor: samplesWaitedFor, thenClose: errorLine)
        }
        wal.whenDurable(upTo: wal.lastAppended) { result in promise.completeWith(result.mapError { $0 as any Error }) }
    }

    private func durabilityReported(
        _ result: Result<Void, any Error>, answers: [GatewayMessage], agent: String?, samplesWaitedFor: Bool,
        thenClose errorLine: String?
    ) {
        awaitingDurability = false
        guard let context, context.channel.isActive else { return }
        switch result {
        case .success:
            for answer in answers { send(answer, context: context) }
            if let errorLine {
                // A refusal waited for the answers before it; the connection ends after them.
                finish(context: context, errorLine: errorLine)
            } else if !finished {
                unflushed = false
                context.flush()
                if !paused { startMessageDeadline(channel: context.channel) }
                if readRequested, !paused {
                    readRequested = false
                    context.read()
                }
            }
        case .failure(let error):
            // A failed fsync: nothing written is promised. The samples this connection sent go
            // unacknowledged and its agent's last sequence is forgotten, as when an append fails.
            if samplesWaitedFor, let agent { state.store.forgetSequence(of: agent) }
            guard errorLine != nil || !finished else { return }
            finish(context: context, errorLine: errorLine ?? "the gateway could not keep the samples: \(error)")
        }
    }

    // MARK: Acknowledging once forwarded

    /// With `forwarded`: the ack of `sequence` goes out once remote write has confirmed the log up to
    /// the last record written so far (this cycle's samples were written before this call; a
    /// replay's first copy was written earlier still).
    private func oweForwardedAck(_ sequence: UInt64, context: ChannelHandlerContext) {
        guard let forwarded, let wal else { return }
        let wasWaiting = owedAcks.nextRecord != nil
        owedAcks.owe(sequence, once: wal.lastAppended)
        if !wasWaiting {
            scheduleKeepalive()
            waitForForwarding(forwarded, context: context)
        }
    }

    /// While acks are owed, the agent hears from the gateway at least every ``keepaliveInterval``.
    private func scheduleKeepalive() {
        let waiting = owedAcks.nextRecord != nil || !recordsAwaitingRoom.isEmpty
        keepaliveDue = session.wantsKeepalive && waiting ? .now() + Self.keepaliveInterval : nil
    }

    /// Waits for the position to reach the oldest owed ack's record; the wake hops to this loop.
    private func waitForForwarding(_ forwarded: ForwardedAcknowledgements, context: ChannelHandlerContext) {
        guard let record = owedAcks.nextRecord else { return }
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        forwarded.wait(ObjectIdentifier(self), for: record) {
            eventLoop.execute { handler.value.forwardingConfirmed() }
        }
    }

    private func forwardingConfirmed() {
        guard let forwarded, let context, !finished, context.channel.isActive else { return }
        let position = forwarded.confirmed
        if let due = owedAcks.dueRecord(at: position),
            forwarded.coversLost(after: owedAcks.acknowledgedRecord, upTo: due, reportsBefore: lossReportsAtStart)
        {
            // Remote write passed over records of the log this ack would cover (damaged, gone, or
            // the directory replaced): some of the agent's samples may never reach the receiver.
            // No ack; the agent sends again what it holds, and the store logs it anew: it forgot
            // every agent's last sequence when the records were found lost, and forgets this one's
            // again now, which this connection's samples since then have raised.
            if let agent = session.agentName { state.store.forgetUnlogged(0, of: agent) }
            finish(context: context, errorLine: Self.lostRecordsLine)
            return
        }
        if let sequence = owedAcks.confirmed(upTo: position) {
            send(.ack(sequence: sequence), context: context)
            unflushed = false
            context.flush()
            scheduleKeepalive()
        }
        waitForForwarding(forwarded, context: context)
    }

    // MARK: Pacing

    /// Holds the connection's reads for `wait`: the kernel's buffer fills and TCP slows the agent down.
    private func pause(for wait: Duration, context: ChannelHandlerContext) {
        guard !paused else { return }
        paused = true
        stopMessageDeadlineForOurWait()
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(in: TimeAmount(wait)) { handler.value.resume() }
    }

    private func resume() {
        paused = false
        owed = .zero
        if let context { startMessageDeadline(channel: context.channel) }
        guard readRequested, !awaitingDurability, recordsAwaitingRoom.isEmpty, let context else { return }
        readRequested = false
        context.read()
    }

    func read(context: ChannelHandlerContext) {
        if paused || awaitingDurability || !recordsAwaitingRoom.isEmpty {
            readRequested = true
        } else {
            context.read()
        }
    }

    // MARK: Deadlines

    /// After the hello, every message must arrive whole within hello-timeout of its first byte: the idle
    /// timer alone is reset by every byte, so a peer trickling one byte at a time would hold the
    /// connection (and its buffer) forever.
    private func renewMessageDeadline(after batch: MessageBatch<[UInt8]>, channel: any Channel) {
        // A completed message ends its deadline; the next one, begun in the same read, gets its own.
        if !batch.messages.isEmpty || !batch.inMessage { messageDue = nil }
        inMessage = batch.inMessage
        startMessageDeadline(channel: channel)
    }

    /// A wait of the gateway's own (pacing, the write-ahead log) is not the peer's: no message deadline
    /// runs through it, and one begun before it starts afresh after it (audit attack2/04).
    private func stopMessageDeadlineForOurWait() {
        messageDue = nil
    }

    private func startMessageDeadline(channel: any Channel) {
        guard inMessage, !finished, session.agentName != nil, messageDue == nil else { return }
        messageDue = .now() + TimeAmount(limits.helloTimeout)
    }

    /// Called by the sweeper, on this connection's loop, a few times a second.
    func checkDeadlines(now: NIODeadline) {
        guard !finished, let context else { return }
        if !recordsAwaitingRoom.isEmpty {
            retryWaitingRecords(context: context)
            guard !finished else { return }
        }
        if let keepaliveDue, now >= keepaliveDue {
            // Acks wait for the receiver (forwarded): the agent is told so, and keeps its samples.
            send(.ack(sequence: 0), context: context)
            unflushed = false
            context.flush()
            scheduleKeepalive()
        }
        let text: String
        if let helloDue, now >= helloDue {
            text = "no hello within \(limits.helloTimeout.configurationText)"
            state.refused(.helloTimeout, text, remote: remote, agent: nil)
        } else if let messageDue, now >= messageDue {
            text = "a message not finished within \(limits.helloTimeout.configurationText) of its first byte"
            state.refused(.messageTimeout, text, remote: remote, agent: session.agentName)
        } else if recordsAwaitingRoom.isEmpty, now - lastProgress >= silenceLimit {
            // Silence gets no error line (the peer is not listening, or gone): the connection just closes.
            finished = true
            state.refused(
                .idleTimeout, "silent for \((limits.agentTimeout * 2).configurationText)", remote: remote,
                agent: session.agentName)
            context.close(promise: nil)
            return
        } else {
            return
        }
        // `finished` stops the checks until the close unregisters it (channelInactive).
        finished = true
        Self.closeWithError(context.channel, text)
    }

    // MARK: Identification, refusal and the end

    /// The peer has just identified itself: log it, make the connection closable from outside (native
    /// agents: takeover, token revocation), and close the agent's older connection, which the newest one replaces.
    /// False when a reload revoked the token it presented after its hello was checked.
    private func identify(_ agent: String, channel: any Channel) -> Bool {
        let dialect: AgentDialect
        switch session.identity {
        case .reportFormat: dialect = .reportFormat
        default: dialect = .native
        }
        state.logConnection(
            "agent connected", metadata: ["agent": "\(agent)", "remote": "\(remote)", "dialect": "\(dialect.rawValue)"])
        guard let connection = session.connection else { return true }
        if let forgotten = connection.forgotten {
            // At max-agents the newcomer took the place of the agent gone longest (audit 21, F2).
            state.logConnection(
                "agent forgotten to make room at max-agents",
                metadata: ["agent": "\(forgotten)", "newcomer": "\(agent)", "remote": "\(remote)"])
        }
        let registered = state.live.register(
            connection.id, agent: agent, token: session.presentedToken, dialect: dialect, usesTLS: transport.isTLS
        ) {
            [state, remote] reason, text in
            state.refused(reason, text, remote: remote, agent: agent)
            Self.closeWithError(channel, text)
        }
        if let older = connection.superseded {
            if forwarded != nil {
                // The older connection may hold samples the store took and the log has not (waiting for
                // room): the agent sends them again here, and they must be logged again, not taken as
                // known and acknowledged once the log passes copies that never come (audit 22, F2).
                state.store.forgetSequence(of: agent)
            }
            state.live.close(
                older, .superseded, "agent \(agent) connected again from \(remote): the newest connection wins")
        }
        return registered
    }

    private func refuse(
        _ reason: PeerErrorReason, _ text: String, acknowledging acknowledged: UInt64?, context: ChannelHandlerContext
    ) {
        state.refused(reason, text, remote: remote, agent: session.agentName)
        // The refused read's new samples are in the store: they go into the log too, unacknowledged.
        guard logNewSamples(context: context) else { return }
        if let acknowledged, case .ack(let sequence)? = session.takeAck(upTo: acknowledged) {
            acknowledge(upTo: sequence, context: context)
        }
        if heldAnswers.isEmpty {
            finish(context: context, errorLine: text)
        } else {
            // Nothing the peer sends meanwhile is handled; the error line follows the held answers.
            finished = true
            holdAnswersUntilDurable(context: context, thenClose: text)
        }
    }

    /// The limiter gave this connection's place to a newer one: it had not said hello (on the loop).
    private func replaced() {
        guard let context, !finished else { return }
        state.refused(.replaced, replacedText, remote: remote, agent: nil)
        finish(context: context, errorLine: replacedText)
    }

    private var replacedText: String {
        "the gateway has its maximum of \(limits.maxConnections) connections (max-connections): "
            + "this one had not said hello and made room for a newer one"
    }

    /// Sends the error line (with whatever the cycle wrote before it) and closes once it is out.
    private func finish(context: ChannelHandlerContext, errorLine text: String) {
        finished = true
        unflushed = false
        let line = context.channel.allocator.buffer(bytes: ProtocolCodec.encode(.error(reason: text)))
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(line)).whenComplete { _ in channel.close(promise: nil) }
        Self.closeAfterGrace(channel)
    }

    /// How long a connection being closed with an error line is given to take it.
    private static let closeGrace = TimeAmount.milliseconds(250)

    /// A write that cannot complete must not keep the connection: one in the middle of a TLS handshake
    /// (NIOSSL holds it until the handshake ends) or to a peer that reads nothing. Closed shortly
    /// after in any case, so that hello-timeout bounds a stalled handshake too (audit attack2/05).
    private static func closeAfterGrace(_ channel: any Channel) {
        channel.eventLoop.scheduleTask(in: closeGrace) { channel.close(promise: nil) }
    }

    /// Sends an error line and closes `channel`, from any thread: for deadlines and for closing a
    /// connection from outside its handler (superseded, token revoked).
    static func closeWithError(_ channel: any Channel, _ text: String) {
        let line = ProtocolCodec.encode(.error(reason: text))
        channel.writeAndFlush(channel.allocator.buffer(bytes: line)).whenComplete { _ in
            channel.close(promise: nil)
        }
        closeAfterGrace(channel)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !finished {
            finished = true
            switch error {
            case let error as NIOSSLError:
                state.refused(.tlsHandshake, "TLS failed: \(error)", remote: remote, agent: session.agentName)
            case let error as BoringSSLError:
                state.refused(.tlsHandshake, "TLS failed: \(error)", remote: remote, agent: session.agentName)
            default:
                // Resets and half-closed sockets are routine for agents; the disconnect is logged on close.
                state.logger.debug("agent connection ended", metadata: ["remote": "\(remote)", "error": "\(error)"])
            }
        }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        // Samples stored by a read whose cycle did not complete, or waiting for room: the store must
        // hold nothing the log does not.
        let waiting = recordsAwaitingRoom
        recordsAwaitingRoom = []
        _ = log(waiting, context: nil, mayWait: false)
        _ = logNewSamples(context: nil)
        finished = true
        sweeper.unregister(self, on: context.eventLoop)
        forwarded?.cancel(ObjectIdentifier(self))
        if let id = session.connection?.id { state.live.unregister(id) }
        if let agent = session.agentName {
            session.disconnect(now: state.clock.now())
            state.logConnection("agent disconnected", metadata: ["agent": "\(agent)", "remote": "\(remote)"])
        }
        if let ticket {
            self.ticket = nil
            state.limiter.release(ticket, identified: identified)
        }
        context.fireChannelInactive()
    }
}
