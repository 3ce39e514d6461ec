import DaemonKit
import Logging
import MonitorConfig
import MonitorModel
import MonitorProtocol
import MonitorSystem
import NIOCore

/// One connection to a gateway, in its pipeline on the agent's event loop: says hello, replays
/// what is buffered, writes each new sample as the sampler takes it and forgets what the gateway
/// acknowledges.
///
/// A handler rather than a task reading an `NIOAsyncChannel`: the sampler's timer fires on the
/// same loop and calls ``writeBuffered()`` directly, and an ack is applied in ``channelRead``, so
/// a sample costs no task switch, no async-sequence step and no wake-up of another thread. What
/// the connection came to (``Outcome``) is handed to the uplink's reconnect loop once, when it ends.
final class UplinkHandler: ChannelInboundHandler {
    typealias InboundIn = MessageBatch<GatewayMessage>
    typealias OutboundOut = ByteBuffer

    /// How a connection ended, for the reconnect loop.
    struct Outcome: Sendable {
        /// Whether the gateway welcomed the agent.
        var welcomed: Bool
        /// Whether it acknowledged a sample (a working session, as opposed to a port that accepted
        /// and hung up, or a gateway that welcomes and then refuses).
        var delivered: Bool
        /// What ended it, if not the gateway closing the connection.
        var error: (any Error)?
    }

    /// Samples written per write: large enough to replay a day's buffer quickly, small enough that
    /// acks keep flowing while it happens.
    static let batchSize = 512
    static let welcomeTimeout = TimeAmount.seconds(10)

    private let state: AgentState
    private let logger: Logger
    private let server: HostPort
    private let hello: Hello
    private let configuration: AgentConfiguration
    /// How long samples may be outstanding without an ack that moves the acknowledged sequence on.
    private let progressDeadline: TimeAmount
    /// Whether the welcome is logged at notice (see ``Uplink``).
    private let announce: Bool
    private let outcome: EventLoopPromise<Outcome>

    private var context: ChannelHandlerContext?
    private var begun = false
    private var welcomed = false
    private var delivered = false
    private var ending: (any Error)?
    /// The highest sequence written on this connection (or the welcome's `last_seq`).
    private var sent: UInt64 = 0
    /// The highest sequence the gateway confirmed on this connection (or the welcome's `last_seq`):
    /// only an ack beyond it is progress. A repeated old ack is not (outside audit 4, finding 14).
    private var acknowledged: UInt64 = 0
    /// Since when samples have been outstanding without an ack that moved the acknowledged sequence
    /// on; `nil` while nothing is outstanding.
    private var waitingSince: NIODeadline?
    /// Checks ``waitingSince`` against ``progressDeadline``. Not scheduled and cancelled per sample
    /// (that cost about a tenth of the agent's instructions per sample): once running, it looks
    /// again when the oldest wait could expire, and stops when nothing is outstanding.
    private var stallCheck: Scheduled<Void>?
    /// Reused for every write: once the socket took a write, the buffer's storage is ours again
    /// and clearing it allocates nothing.
    private var line = ByteBuffer()
    private var welcomeDeadline: Scheduled<Void>?
    private var failback: Scheduled<Void>?
    /// Reads, keepalives and acks that brought nothing new in the second since ``idleWindowStart``.
    private var idleWakeups = 0
    private var idleWindowStart = NIODeadline.uptimeNanoseconds(0)
    /// A gateway wakes the agent about once a second for nothing new (a keepalive while its acks
    /// wait for its receiver), a few times more when its acks arrive in pieces (each piece a read);
    /// fifty times a second is no gateway of ours, and still costs the agent little.
    static let wakeupsWithoutProgressPerSecond = 50
    /// Whether the read cycle under way brought a welcome or an ack of something new, or was
    /// counted already by its messages (keepalives, stale acks: each counts once, not its read too).
    private var progressThisCycle = false
    private var countedThisCycle = false
    /// Acks that moved the acknowledged sequence on, up to ``acksBeforeReleasingPages``.
    private var progressAcks = 0
    /// A connection that works and has caught up gives back the pages that starting, connecting
    /// and any outage before it touched (``ResidentMemory``): by the third ack, whatever a sample,
    /// a send and an ack run is resident again, and nothing else is.
    static let acksBeforeReleasingPages = 3
    /// Caught up: at most this many samples outstanding at the ack. Not none: a gateway whose acks
    /// come after the next sample went out (far away, loaded, or acknowledging once forwarded)
    /// never leaves nothing outstanding (audit 16, F5: 8,648 kB with TLS, pages never released).
    /// A replay of a buffer has a batch outstanding, far more.
    static let outstandingWhenCaughtUp: UInt64 = 4

    init(
        state: AgentState, logger: Logger, server: HostPort, hello: Hello, configuration: AgentConfiguration,
        progressDeadline: TimeAmount, announce: Bool = true, outcome: EventLoopPromise<Outcome>
    ) {
        self.announce = announce
        self.state = state
        self.logger = logger
        self.server = server
        self.hello = hello
        self.configuration = configuration
        self.progressDeadline = progressDeadline
        self.outcome = outcome
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        line = context.channel.allocator.buffer(capacity: 256)
        if context.channel.isActive { begin(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        begin(context: context)
        context.fireChannelActive()
    }

    /// Says hello and starts the conversation; a gateway that accepts but never answers is given
    /// up on, like a silent agent is.
    private func begin(context: ChannelHandlerContext) {
        guard !begun else { return }
        begun = true
        let channel = context.channel
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        state.shared.withLock { shared in
            shared.channel = channel
            shared.conversation = GatewayConversation(tailAllowance: shared.tailAllowance)
            // The sampler calls this on the loop right after it stored a sample.
            shared.wakeWriter = {
                if eventLoop.inEventLoop {
                    bound.value.writeBuffered()
                } else {
                    eventLoop.execute { bound.value.writeBuffered() }
                }
            }
        }
        line.clear()
        line.writeBytes(ProtocolCodec.encode(.hello(hello)))
        context.writeAndFlush(wrapOutboundOut(line), promise: nil)
        welcomeDeadline = context.eventLoop.scheduleTask(in: Self.welcomeTimeout) {
            channel.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let batch = unwrapInboundIn(data)
        for message in batch.messages {
            guard ending == nil else { return }
            receive(message, context: context)
        }
        // Bytes that are no message (a framing error, an object that is no gateway message) are a
        // protocol error like any other: the server has failed, and the agent backs off from it
        // (audit 20, F1: one junk byte after each welcome made a reconnect and a warning a second).
        if let error = batch.error { end(UplinkError.protocolError("\(error)"), context: context) }
    }

    /// Applies one message of the gateway, as ``GatewayConversation`` judges it.
    private func receive(_ message: GatewayMessage, context: ChannelHandlerContext) {
        let verdict = state.shared.withLock { shared -> GatewayConversation.Verdict in
            guard var conversation = shared.conversation else {
                return .protocolError("message outside a conversation")
            }
            defer { shared.conversation = conversation }
            return conversation.receive(message, highestNumbered: shared.highestNumbered)
        }
        switch verdict {
        case .welcomed(let acknowledged, let numberAfter):
            welcome(acknowledged: acknowledged, numberAfter: numberAfter, context: context)
        case .acknowledged(let sequence):
            // What this connection confirms belongs to the session its hello announced (the agent
            // may start a new one meanwhile, at the spool's numbering ceiling).
            state.acknowledge(upTo: sequence, session: hello.session)
            guard sequence > acknowledged else {
                countedThisCycle = true
                tookWakeupWithoutProgress(context: context)
                return
            }
            progressThisCycle = true
            acknowledged = sequence
            delivered = true
            // Progress: what is still outstanding waits from now.
            waitingSince = nil
            watchProgress(context: context)
            if progressAcks < Self.acksBeforeReleasingPages, sent <= acknowledged + Self.outstandingWhenCaughtUp {
                progressAcks += 1
                if progressAcks == Self.acksBeforeReleasingPages {
                    let advised = ResidentMemory.releaseUnusedPages()
                    logger.debug(
                        "pages of code that ran once given back", metadata: ["advised": "\(advised >> 10) KiB"])
                }
            }
        case .keptAlive:
            // The gateway acknowledges once its receiver has the samples (acknowledge = forwarded)
            // and says it is waiting for it: the progress deadline starts again. Moving to another
            // gateway would not help (they share the receiver) and would replay the whole buffer.
            countedThisCycle = true
            tookWakeupWithoutProgress(context: context)
            guard ending == nil else { return }
            waitingSince = nil
            watchProgress(context: context)
        case .refused(let reason):
            end(UplinkError.refused(reason), context: context)
        case .protocolError(let reason):
            end(UplinkError.protocolError(reason), context: context)
        }
    }

    /// A read cycle, keepalive or ack that brought nothing new: a gateway sends one a second at
    /// most (a keepalive while acks wait for its receiver). One that floods them costs the agent a
    /// core for nothing: acks of 0 (audit 16, F7: 27–42 %), blanks between messages, a line
    /// dribbled byte by byte or half lines (audit 18, F2 and F5: 40–84 %), none of which the
    /// decoder ever hands on as a message. Past ``wakeupsWithoutProgressPerSecond`` in a second the
    /// agent leaves it, as a gateway that failed it (backing off, logged once per kind).
    private func tookWakeupWithoutProgress(context: ChannelHandlerContext) {
        guard ending == nil else { return }
        let now = NIODeadline.now()
        if now - idleWindowStart > .seconds(1) {
            idleWindowStart = now
            idleWakeups = 0
        }
        idleWakeups += 1
        if idleWakeups > Self.wakeupsWithoutProgressPerSecond {
            end(
                UplinkError.flooding(
                    "more than \(Self.wakeupsWithoutProgressPerSecond) reads, keepalives or acks of nothing new in a second"
                ),
                context: context)
        }
    }

    /// Every read cycle ends here, whatever it brought: blanks and partial lines too, which the
    /// decoder keeps to itself.
    func channelReadComplete(context: ChannelHandlerContext) {
        if !progressThisCycle, !countedThisCycle { tookWakeupWithoutProgress(context: context) }
        progressThisCycle = false
        countedThisCycle = false
        context.fireChannelReadComplete()
    }

    private func welcome(acknowledged: UInt64, numberAfter: UInt64?, context: ChannelHandlerContext) {
        welcomeDeadline?.cancel()
        welcomeDeadline = nil
        progressThisCycle = true
        // The lost tail is settled by the first welcome after the start: from then on this agent's
        // own numbering is the truth, and a later welcome beyond it is a lie.
        state.shared.withLock { $0.tailAllowance = 0 }
        state.acknowledge(upTo: acknowledged, numberAfter: numberAfter, session: hello.session)
        if let numberAfter {
            logger.warning(
                "the gateway holds sequence numbers up to \(numberAfter), beyond this agent's (its spool lost its tail): numbering on from there"
            )
        }
        welcomed = true
        sent = acknowledged
        self.acknowledged = acknowledged
        // On a fallback server, leave after failback-after to try the first one again; the
        // session and its numbering go along, so the move costs no sample.
        if server != configuration.servers.first {
            let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
            let (logger, first) = (logger, configuration.servers[0])
            failback = context.eventLoop.scheduleTask(in: TimeAmount(configuration.failbackAfter)) {
                logger.notice("failing back: trying \(first) again")
                guard let context = handler.value.context else { return }
                // The agent leaves: not a failure of this server (audit 13, F4: "closed by the server").
                handler.value.end(UplinkError.failingBack, context: context)
            }
        }
        let server = server
        state.shared.withLock { shared in
            shared.connectedServer = server
            shared.connecting = false
        }
        logger.log(
            level: announce ? .notice : .debug,
            "connected to \(server) as \(hello.agent)",
            metadata: ["server": "\(server)", "agent": "\(hello.agent)", "buffered": "\(state.bufferedCount)"]
        )
        writeBuffered()
    }

    /// Writes everything buffered after what this connection has sent, as far as the socket takes
    /// it now; the rest follows when it becomes writable again.
    func writeBuffered() {
        guard welcomed, ending == nil, let context else { return }
        while context.channel.isWritable {
            let batch = state.samples(after: sent, limit: Self.batchSize)
            guard let last = batch.last else { return }
            line.clear()
            for sample in batch {
                line.writeBytes(ProtocolCodec.encode(.sample(sample)))
            }
            // Before the write: the gateway may ack these as soon as they leave.
            state.shared.withLock { $0.conversation?.willSend(upTo: last.sequence) }
            sent = last.sequence
            context.writeAndFlush(wrapOutboundOut(line), promise: nil)
            watchProgress(context: context)
        }
    }

    /// Notes when samples start waiting for progress, and makes sure the check runs; an ack that
    /// moves the acknowledged sequence on restarts the wait of what is still outstanding.
    private func watchProgress(context: ChannelHandlerContext) {
        guard sent > acknowledged, ending == nil else {
            waitingSince = nil
            return
        }
        let since = waitingSince ?? .now()
        waitingSince = since
        if stallCheck == nil { scheduleStallCheck(at: since + progressDeadline, context: context) }
    }

    private func scheduleStallCheck(at deadline: NIODeadline, context: ChannelHandlerContext) {
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        stallCheck = context.eventLoop.scheduleTask(deadline: deadline) {
            bound.value.checkProgress()
        }
    }

    private func checkProgress() {
        stallCheck = nil
        guard let context, sent > acknowledged, let since = waitingSince else { return }
        let expiry = since + progressDeadline
        guard NIODeadline.now() >= expiry else {
            // Progress came meanwhile: look again when the wait that followed it could expire.
            scheduleStallCheck(at: expiry, context: context)
            return
        }
        let deadline = Duration.nanoseconds(progressDeadline.nanoseconds)
        end(
            UplinkError.acknowledgesNothingNew(sent: sent, acknowledged: acknowledged, deadline: deadline),
            context: context)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        writeBuffered()
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        end(error, context: context)
    }

    /// Ends the connection for `error` (the first reason given is the one reported).
    private func end(_ error: any Error, context: ChannelHandlerContext) {
        if ending == nil { ending = error }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish()
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        finish()
    }

    /// Leaves the agent's state as it was before the connection and reports how it went.
    private func finish() {
        guard context != nil else { return }
        context = nil
        welcomeDeadline?.cancel()
        failback?.cancel()
        stallCheck?.cancel()
        if begun {
            state.shared.withLock { shared in
                shared.channel = nil
                shared.conversation = nil
                shared.wakeWriter = nil
            }
        }
        outcome.succeed(Outcome(welcomed: welcomed, delivered: delivered, error: ending))
    }
}
