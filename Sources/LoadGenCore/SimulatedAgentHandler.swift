import DaemonKit
import MonitorModel
import MonitorProtocol
import NIOCore

/// One simulated agent on one connection: says hello (native dialect), sends samples at the
/// planned pace, and matches cumulative acks against the send times of the samples they cover.
final class SimulatedAgentHandler: ChannelInboundHandler {
    /// The gateway's messages, decoded by ``JSONMessageDecoder`` in front of this handler.
    typealias InboundIn = MessageBatch<GatewayMessage>
    typealias OutboundOut = ByteBuffer

    private enum State {
        case idle
        case awaitingWelcome
        case running
        case closed
    }

    private let name: String
    private let session: String
    private let dialect: LoadPlan.Dialect
    private let pace: LoadPlan.Pace
    private let statistics: LoadStatistics
    private let clock = SystemWallClock()

    private var state = State.idle
    private var timer: RepeatedTask?
    private var nextSequence: UInt64 = 1
    /// Send times (monotonic nanoseconds) of unacknowledged samples; entry `i` from
    /// `unackedHead` is sequence `firstUnacked + i - unackedHead`.
    private var sendTimes: [UInt64] = []
    private var unackedHead = 0
    private var firstUnacked: UInt64 = 1
    private var latencies: [UInt32] = []

    init(name: String, session: String, plan: LoadPlan, statistics: LoadStatistics) {
        self.name = name
        self.session = session
        self.dialect = plan.dialect
        self.pace = plan.pace
        self.statistics = statistics
    }

    private var unackedCount: Int { sendTimes.count - unackedHead }

    func channelActive(context: ChannelHandlerContext) {
        statistics.connected.add(1, ordering: .relaxed)
        switch dialect {
        case .native:
            state = .awaitingWelcome
            write(SampleMessages.hello(agent: name, session: session), context: context)
            context.flush()
        case .reportFormat:
            start(context: context)
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        if state != .closed && !statistics.stopping.load(ordering: .relaxed) {
            statistics.unexpectedCloses.add(1, ordering: .relaxed)
        }
        state = .closed
        statistics.merge(latencies: latencies)
        latencies = []
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let batch = unwrapInboundIn(data)
        do {
            for message in batch.messages {
                try handle(message, context: context)
            }
            if let error = batch.error { throw error }
        } catch let error as ProtocolError {
            fail("gateway sent an invalid message: \(error.reason)", context: context)
        } catch {
            fail("gateway stream: \(error)", context: context)
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if case .flood = pace, dialect == .reportFormat, context.channel.isWritable {
            floodReportFormat(context: context)
        }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail("connection error: \(error)", context: context)
    }

    private func handle(_ message: GatewayMessage, context: ChannelHandlerContext) throws {
        switch message {
        case .welcome(_, let lastSequence):
            guard state == .awaitingWelcome else {
                fail("unexpected welcome", context: context)
                return
            }
            if let lastSequence {
                nextSequence = lastSequence + 1
                firstUnacked = nextSequence
            }
            start(context: context)
        case .ack(let sequence):
            acknowledge(through: sequence)
            if case .flood(let window) = pace {
                floodNative(window: window, context: context)
            }
        case .error(let reason):
            fail("gateway refused: \(reason)", context: context)
        }
    }

    private func start(context: ChannelHandlerContext) {
        state = .running
        switch pace {
        case .interval(let interval):
            let nanoseconds = Int64(interval.inSeconds * 1e9)
            let offset = Int64.random(in: 0..<max(1, nanoseconds))
            let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
            let contextBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            timer = context.eventLoop.scheduleRepeatedTask(
                initialDelay: .nanoseconds(offset), delay: .nanoseconds(nanoseconds)
            ) { _ in
                loopBound.value.sendOne(context: contextBound.value)
            }
        case .flood(let window):
            switch dialect {
            case .native: floodNative(window: window, context: context)
            case .reportFormat: floodReportFormat(context: context)
            }
        }
    }

    private func sendOne(context: ChannelHandlerContext) {
        guard state == .running, !statistics.stopping.load(ordering: .relaxed) else { return }
        writeSample(context: context)
        context.flush()
    }

    /// Keeps `window` native samples in flight.
    private func floodNative(window: Int, context: ChannelHandlerContext) {
        guard state == .running, !statistics.stopping.load(ordering: .relaxed) else { return }
        var wrote = false
        while unackedCount < window {
            writeSample(context: context)
            wrote = true
        }
        if wrote { context.flush() }
    }

    /// Writes report-format objects while the socket accepts them; resumes on writability.
    private func floodReportFormat(context: ChannelHandlerContext) {
        guard state == .running else { return }
        var batch = 0
        while context.channel.isWritable, !statistics.stopping.load(ordering: .relaxed), batch < 64 {
            writeSample(context: context)
            batch += 1
        }
        if batch > 0 { context.flush() }
        if batch == 64 {
            // Yield to other connections on this loop, then continue.
            let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
            let contextBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.eventLoop.execute { loopBound.value.floodReportFormat(context: contextBound.value) }
        }
    }

    private func writeSample(context: ChannelHandlerContext) {
        let sequence = nextSequence
        nextSequence += 1
        switch dialect {
        case .native:
            sendTimes.append(MonotonicClock.nowNanoseconds())
            write(SampleMessages.native(sequence: sequence, timestamp: clock.now()), context: context)
        case .reportFormat:
            write(SampleMessages.reportFormat(count: sequence), context: context)
        }
        statistics.samplesSent.add(1, ordering: .relaxed)
    }

    private func acknowledge(through sequence: UInt64) {
        guard sequence >= firstUnacked else { return }  // a repeated ack covers nothing new
        let count = Int(min(sequence - firstUnacked + 1, UInt64(unackedCount)))
        let now = MonotonicClock.nowNanoseconds()
        if statistics.measuring.load(ordering: .relaxed) {
            for index in unackedHead..<(unackedHead + count) {
                let micros = (now &- sendTimes[index]) / 1000
                latencies.append(UInt32(min(micros, UInt64(UInt32.max))))
            }
        }
        unackedHead += count
        firstUnacked += UInt64(count)
        if unackedHead > 1024 && unackedHead * 2 > sendTimes.count {
            sendTimes.removeFirst(unackedHead)
            unackedHead = 0
        }
        statistics.samplesAcknowledged.add(count, ordering: .relaxed)
    }

    private func write(_ bytes: [UInt8], context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: bytes.count)
        buffer.writeBytes(bytes)
        context.write(wrapOutboundOut(buffer), promise: nil)
    }

    private func fail(_ reason: String, context: ChannelHandlerContext) {
        guard state != .closed else { return }
        if !statistics.stopping.load(ordering: .relaxed) {
            statistics.recordError(reason)
        }
        state = .closed
        timer?.cancel()
        timer = nil
        context.close(promise: nil)
    }
}

/// The monotonic clock NIO uses for deadlines, in nanoseconds.
enum MonotonicClock {
    static func nowNanoseconds() -> UInt64 {
        NIODeadline.now().uptimeNanoseconds
    }
}
