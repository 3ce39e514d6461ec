import AgentSpool
import Logging
import MonitorConfig
import MonitorModel
import NIOCore
import NIOSSL
import Synchronization

/// What the agent's sampler, connection and housekeeping loops share.
final class AgentState: Sendable {
    struct Shared {
        var configuration: AgentConfiguration
        var buffer: SampleBuffer
        var nextSequence: UInt64 = 1
        /// Samples taken and samples the gateway acknowledged, since the agent started.
        var takenCount: UInt64 = 0
        /// Set on SIGTERM: sampling ends, delivery of what is held goes on for a bounded time.
        var stopping = false
        var acknowledgedCount: UInt64 = 0
        /// Wakes the connection's writer when a sample arrives; one per live connection.
        var wakeWriter: AsyncStream<Void>.Continuation?
        /// The server the agent is connected to, if any (for STATUS= and logs).
        var connectedServer: HostPort?
        /// Set by a reload that changed who we are or where we send: the session ends and reconnects.
        var reconnectRequested = false
        /// The open connection to the gateway, closed by a reload that changes the destination.
        var channel: (any Channel)?
        /// Identifies this run of the agent (or, with a spool, the spool's history), so that the
        /// gateway can tell a restart (sequence numbers start again) from a reconnect (they go on).
        var session: String
        /// The disk copy of the buffer, when `spool-directory` is set.
        var spool: SampleSpool?
        /// The TLS client context when `tls = yes`, rebuilt on reload.
        var tlsContext: NIOSSLContext?
    }

    let shared: Mutex<Shared>

    init(configuration: AgentConfiguration, session: String) {
        self.shared = Mutex(
            Shared(
                configuration: configuration, buffer: SampleBuffer(capacity: configuration.bufferCapacity),
                session: session))
    }

    /// The session announced in every hello.
    var session: String { shared.withLock { $0.session } }

    /// Opens the spool in `spool-directory` and takes over what it holds: the agent resumes the
    /// spool's session and numbering (so that, to the gateway, a restart is just a reconnect), and
    /// its unacknowledged samples go into the buffer to be replayed under their original numbers.
    /// The buffer's capacity bounds how many: older ones are dropped and counted.
    func openSpool(logger: Logger) throws(SpoolError) -> SampleSpool.Recovery {
        try shared.withLock { shared throws(SpoolError) in
            let configuration = shared.configuration
            let (spool, recovery) = try SampleSpool.open(
                directory: configuration.spoolDirectory, maximumBytes: configuration.spoolMaxBytes,
                fsyncPolicy: configuration.spoolFsync, keep: shared.buffer.capacity, logger: logger,
                newSession: { shared.session })
            shared.session = recovery.session
            shared.nextSequence = recovery.highestSequence + 1
            for sample in recovery.unacknowledged { shared.buffer.append(sample) }
            shared.buffer.countDropped(recovery.notKept)
            shared.spool = spool
            return recovery
        }
    }

    /// Flushes a periodic-fsync spool when its period has passed.
    func syncSpoolIfDue() {
        shared.withLock { $0.spool?.syncIfDue() }
    }

    /// Syncs and closes the spool at exit (later samples stay in memory only) and returns, read
    /// together, how many samples are still undelivered and the highest sequence number taken.
    func closeSpool() -> (undelivered: Int, lastSequence: UInt64) {
        shared.withLock { shared in
            shared.spool?.close()
            shared.spool = nil
            return (shared.buffer.count, shared.nextSequence - 1)
        }
    }

    var configuration: AgentConfiguration { shared.withLock { $0.configuration } }

    /// Numbers a new sample, stores it (on disk first, with a spool) and wakes the writer.
    func append(_ sample: Sample) {
        shared.withLock { shared in
            // A stopping agent takes no more samples: what it has is what it tries to deliver.
            guard !shared.stopping else { return }
            var sample = sample
            shared.takenCount += 1
            sample.sequence = shared.nextSequence
            shared.nextSequence += 1
            // Written before the writer can see it: whatever reaches the gateway is in the spool.
            shared.spool?.append(sample)
            shared.buffer.append(sample)
            shared.wakeWriter?.yield()
        }
    }

    func acknowledge(upTo sequence: UInt64) {
        shared.withLock { shared in
            shared.acknowledgedCount += UInt64(shared.buffer.acknowledge(upTo: sequence))
            shared.spool?.acknowledge(upTo: sequence)
            // The gateway holds numbers we never gave out only if a spool lost its tail to a power
            // loss (see SpoolFsyncPolicy): number on after them, or new samples would be taken for
            // duplicates. The buffer is empty then, so its sequences stay increasing.
            if sequence >= shared.nextSequence { shared.nextSequence = sequence + 1 }
        }
    }

    var bufferedCount: Int { shared.withLock { $0.buffer.count } }
}

/// A random session identifier: 16 bytes as 32 hex digits.
func makeSessionIdentifier() -> String {
    var generator = SystemRandomNumberGenerator()
    let digits = Array("0123456789abcdef".utf8)
    var bytes: [UInt8] = []
    bytes.reserveCapacity(32)
    for _ in 0..<32 { bytes.append(digits[Int(generator.next() % 16)]) }
    return String(decoding: bytes, as: UTF8.self)
}
