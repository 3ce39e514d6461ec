import NIOCore
import NIOSSL
import Synchronization

/// What the agent's sampler, connection and housekeeping loops share.
final class AgentState: Sendable {
    struct Shared {
        var configuration: AgentConfiguration
        var buffer: SampleBuffer
        var nextSequence: UInt64 = 1
        /// Samples the gateway acknowledged, since the agent started.
        var acknowledgedCount: UInt64 = 0
        /// Wakes the connection's writer when a sample arrives; one per live connection.
        var wakeWriter: AsyncStream<Void>.Continuation?
        /// The server the agent is connected to, if any (for STATUS= and logs).
        var connectedServer: HostPort?
        /// Set by a reload that changed who we are or where we send: the session ends and reconnects.
        var reconnectRequested = false
        /// The open connection to the gateway, closed by a reload that changes the destination.
        var channel: (any Channel)?
        /// The TLS client context when `tls = yes`, rebuilt on reload.
        var tlsContext: NIOSSLContext?
    }

    let shared: Mutex<Shared>
    /// Identifies this run of the agent, so that the gateway can tell a restart (sequence
    /// numbers start again) from a reconnect (they go on).
    let session: String

    init(configuration: AgentConfiguration, session: String) {
        self.shared = Mutex(
            Shared(configuration: configuration, buffer: SampleBuffer(capacity: configuration.bufferCapacity)))
        self.session = session
    }

    var configuration: AgentConfiguration { shared.withLock { $0.configuration } }

    /// Numbers a new sample, stores it and wakes the writer.
    func append(_ sample: Sample) {
        shared.withLock { shared in
            var sample = sample
            sample.sequence = shared.nextSequence
            shared.nextSequence += 1
            shared.buffer.append(sample)
            shared.wakeWriter?.yield()
        }
    }

    func acknowledge(upTo sequence: UInt64) {
        shared.withLock { $0.acknowledgedCount += UInt64($0.buffer.acknowledge(upTo: sequence)) }
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
