import AgentSpool
import Logging
import MonitorConfig
import MonitorModel
import MonitorProtocol
import NIOCore
import NIOSSL
import Synchronization

/// What the agent's sampler, connection and housekeeping loops share.
final class AgentState: Sendable {
    struct Shared {
        var configuration: AgentConfiguration
        var buffer: SampleBuffer
        /// The number the next sample gets; nil once numbering is exhausted (it never is in
        /// practice: spools stop at 2^63 and gateways are not believed beyond what was numbered).
        var nextSequence: UInt64? = 1
        /// Samples taken and samples the gateway acknowledged, since the agent started.
        var takenCount: UInt64 = 0
        /// Set on SIGTERM: sampling ends, delivery of what is held goes on for a bounded time.
        var stopping = false
        var acknowledgedCount: UInt64 = 0
        /// Has the open connection write what it has not sent yet (see ``UplinkHandler``); set
        /// while a connection is open. Called on the event loop, outside the lock.
        var wakeWriter: (@Sendable () -> Void)?
        /// The server the agent is connected to, if any (for STATUS= and logs).
        var connectedServer: HostPort?
        /// Set while the uplink dials or waits for a welcome, so that a stopping agent waits for it.
        var connecting = false
        /// Set by a reload that changed who we are or where we send: the session ends and reconnects.
        var reconnectRequested = false
        /// The open connection to the gateway, closed by a reload that changes the destination.
        var channel: (any Channel)?
        /// Identifies this run of the agent (or, with a spool, the spool's history), so that the
        /// gateway can tell a restart (sequence numbers start again) from a reconnect (they go on).
        var session: String
        /// Whether a spool was opened (the spool itself lives under its own lock, ``AgentState/spool``).
        var spooled = false
        /// How far above its own numbering a welcome's `last_seq` may be believed (see
        /// ``GatewayConversation``): the most samples a spool's lost tail can hold, 0 without a
        /// spool or with `spool-fsync = always`.
        var tailAllowance: UInt64 = 0
        /// The TLS client context when `tls = yes`, rebuilt on reload.
        var tlsContext: NIOSSLContext?
        /// What the open connection's gateway may be believed, if a connection is open.
        var conversation: GatewayConversation?

        /// The highest sequence number given out.
        var highestNumbered: UInt64 { nextSequence.map { $0 - 1 } ?? UInt64.max }
    }

    let shared: Mutex<Shared>
    /// The disk copy of the buffer, when `spool-directory` is set. Its own lock: a write and an
    /// fsync take milliseconds on a slow disk, and acks and the writer must not wait for them.
    let spool = Mutex<SampleSpool?>(nil)

    init(configuration: AgentConfiguration, session: String) {
        self.shared = Mutex(
            Shared(
                configuration: configuration,
                buffer: SampleBuffer(
                    capacity: configuration.bufferCapacity, backedBySpool: !configuration.spoolDirectory.isEmpty),
                session: session))
    }

    /// The session announced in every hello.
    var session: String { shared.withLock { $0.session } }

    /// Opens the spool in `spool-directory` and takes over what it holds: the agent resumes the
    /// spool's session and numbering (so that, to the gateway, a restart is just a reconnect), and
    /// its unacknowledged samples are replayed under their original numbers: the newest
    /// `buffer-samples` from memory, the older ones read back from disk when their turn comes.
    func openSpool(logger: Logger) throws(SpoolError) -> SampleSpool.Recovery {
        let (configuration, session, capacity) = shared.withLock { ($0.configuration, $0.session, $0.buffer.capacity) }
        let recovery = try spool.withLock { spool throws(SpoolError) in
            let (opened, recovery) = try SampleSpool.open(
                directory: configuration.spoolDirectory, maximumBytes: configuration.spoolMaxBytes,
                fsyncPolicy: configuration.spoolFsync, keep: capacity, logger: logger,
                newSession: { session })
            spool = opened
            return recovery
        }
        shared.withLock { shared in
            shared.session = recovery.session
            // The spool's numbers stop at 2^63 (SpoolFormat.maximumSequence): this cannot overflow.
            shared.nextSequence = recovery.highestSequence + 1
            shared.spooled = true
            // Only a spool that held a session before this start can have lost a tail to a power
            // loss; a new one has nothing the gateway could know better (the audit's lying last_seq).
            if configuration.spoolFsync != .always, recovery.resumed {
                shared.tailAllowance = UInt64(configuration.spoolMaxBytes / SpoolFormat.sampleRecordBytes)
            }
            shared.buffer.noteSpooledOnly(recovery.notKeptRanges, count: recovery.notKept)
            for sample in recovery.unacknowledged { shared.buffer.append(sample) }
        }
        return recovery
    }

    /// Flushes a periodic-fsync spool when its period has passed.
    func syncSpoolIfDue() {
        spool.withLock { $0?.syncIfDue() }
    }

    /// Syncs and closes the spool at exit (later samples stay in memory only) and returns, read
    /// together, how many samples are still undelivered and the highest sequence number taken.
    func closeSpool() -> (undelivered: Int, lastSequence: UInt64) {
        spool.withLock { spool in
            spool?.close()
            spool = nil
        }
        return shared.withLock { ($0.buffer.count, $0.highestNumbered) }
    }

    var configuration: AgentConfiguration { shared.withLock { $0.configuration } }

    /// Numbers a new sample, stores it (on disk first, with a spool) and wakes the writer.
    /// Called by the sampler only, so appends never overlap.
    ///
    /// A spool's numbers never pass 2^63 (``SpoolFormat/maximumSequence``): when the next would, the
    /// agent starts a new session numbered from 1 (see ``startNewSession(_:)``) rather than number on
    /// past what the spool can hold or repeat numbers the gateway would take for duplicates.
    func append(_ sample: Sample, logger: Logger? = nil) {
        var sample = sample
        var newSession: (session: String, channel: (any Channel)?)?
        let numbered = shared.withLock { shared -> Bool in
            // A stopping agent takes no more samples: what it has is what it tries to deliver.
            guard !shared.stopping, var sequence = shared.nextSequence else { return false }
            if shared.spooled, sequence > SpoolFormat.maximumSequence {
                newSession = Self.startNewSession(&shared)
                sequence = 1
            }
            shared.takenCount += 1
            sample.sequence = sequence
            let (next, overflow) = sequence.addingReportingOverflow(1)
            shared.nextSequence = overflow ? nil : next
            return true
        }
        if let newSession {
            _ = spool.withLock { $0?.startNewSession(newSession.session) }
            // The open connection announced the old session: a new hello is needed.
            newSession.channel?.close(promise: nil)
            logger?.warning(
                "sequence numbers reached 2^63, the most a spool numbers: new session \(newSession.session), numbering from 1"
            )
        }
        guard numbered else {
            if shared.withLock({ $0.nextSequence == nil }) {
                logger?.error("sequence numbers exhausted; delete the spool directory to start a new session")
            }
            return
        }
        // Written before the writer can see it: whatever reaches the gateway is in the spool.
        let onDisk = spool.withLock { $0?.append(sample) ?? false }
        let wakeWriter = shared.withLock { shared in
            shared.buffer.append(sample, onDisk: onDisk)
            return shared.wakeWriter
        }
        wakeWriter?()
    }

    /// Ends the current numbering for a new session (the caller numbers from 1): what is undelivered
    /// is dropped and counted (a gateway cannot relate the old numbers to the new session), and the
    /// connection, which announced the old session, is to be closed so that the next hello announces the new one.
    private static func startNewSession(_ shared: inout Shared) -> (session: String, channel: (any Channel)?) {
        let session = Self.newSessionIdentifier()
        shared.session = session
        shared.buffer.discardAll()
        shared.tailAllowance = 0
        shared.conversation = nil
        shared.reconnectRequested = true
        return (session, shared.channel)
    }

    /// Applies what the gateway confirmed (a welcome's `last_seq` or an ack, already judged by
    /// ``GatewayConversation``): forgets those samples, and numbers on after `numberAfter` when
    /// the gateway holds numbers a spool lost. `session` is the session the connection announced:
    /// a confirmation for a session the agent has since left is ignored.
    func acknowledge(upTo sequence: UInt64, numberAfter: UInt64? = nil, session: String? = nil) {
        let current = shared.withLock { shared -> Bool in
            guard session == nil || session == shared.session else { return false }
            shared.acknowledgedCount += UInt64(shared.buffer.acknowledge(upTo: sequence))
            if let numberAfter, numberAfter >= shared.highestNumbered {
                // Buffered samples numbered up to there were taken for duplicates and are forgotten
                // above; the buffer's sequences stay increasing.
                let (next, overflow) = numberAfter.addingReportingOverflow(1)
                shared.nextSequence = overflow ? nil : next
            }
            return true
        }
        guard current, sequence > 0 else { return }
        spool.withLock { $0?.acknowledge(upTo: sequence, session: session) }
    }

    /// Undelivered samples after `sequence`, in order, at most `limit`: from disk first when the
    /// memory window has moved past them, then from memory.
    func samples(after sequence: UInt64, limit: Int) -> [Sample] {
        let onDisk = shared.withLock { $0.buffer.spooledOnly(after: sequence) }
        if let range = onDisk {
            // From the range's start: the spool's files still hold acknowledged samples before it.
            let read = spool.withLock {
                $0?.samples(after: range.lowerBound - 1, through: range.upperBound, limit: limit) ?? []
            }
            if !read.isEmpty { return read }
            // The spool no longer has them (deleted to stay within spool-max-size): dropped.
            shared.withLock { $0.buffer.spoolLost(upTo: range.upperBound) }
        }
        return shared.withLock { $0.buffer.samples(after: sequence, limit: limit) }
    }

    var bufferedCount: Int { shared.withLock { $0.buffer.count } }
}

extension AgentState {
    /// A random session identifier: 16 bytes as 32 hex digits.
    static func newSessionIdentifier() -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef".utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        for _ in 0..<32 { bytes.append(digits[Int(generator.next() % 16)]) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
