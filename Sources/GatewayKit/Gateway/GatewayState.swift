import Logging
import MonitorConfig
import MonitorModel
import NIOSSL
import Synchronization

/// What every part of a running gateway shares: the store, the live configuration, counters.
final class GatewayState: Sendable {
    let store: AgentStore
    let counters = GatewayCounters()
    let limiter = ConnectionLimiter()
    private let refusalLog = LogThrottle()
    let logger: Logger
    let clock: any WallClock
    /// Forwarding to `[remote-write]`'s receiver, fixed at start (a reload does not add, remove or change it).
    /// Remote write, when configured: gets every sample the store accepted as new.
    let forwarder: (any SampleForwarder)?
    private let current: Mutex<GatewayConfiguration>
    private let tls: Mutex<NIOSSLContext?>
    private let webGuard: Mutex<(any HTTPPortGuard)?> = Mutex(nil)

    init(
        configuration: GatewayConfiguration,
        tlsContext: NIOSSLContext?,
        logger: Logger,
        clock: any WallClock,
        forwarder: (any SampleForwarder)? = nil
    ) {
        self.tls = Mutex(tlsContext)
        self.store = AgentStore(agentTimeout: configuration.agentTimeout, forgetAfter: configuration.forgetAfter)
        self.current = Mutex(configuration)
        self.logger = logger
        self.clock = clock
        self.forwarder = forwarder
    }

    /// The configuration in force; new connections read it when they start.
    var configuration: GatewayConfiguration {
        current.withLock { $0 }
    }

    /// Counts a refused or closed peer and logs it, at most a few lines per reason every few seconds.
    func refused(_ reason: PeerErrorReason, _ text: String, remote: String, agent: String?) {
        counters.peerError(reason)
        guard case .log(let suppressed) = refusalLog.check(reason) else { return }
        var metadata: Logger.Metadata = ["remote": "\(remote)", "reason": "\(reason.rawValue)"]
        if let agent { metadata["agent"] = "\(agent)" }
        if suppressed > 0 { metadata["suppressed"] = "\(suppressed)" }
        logger.notice("refused peer: \(text)", metadata: metadata)
    }

    /// The TLS context new connections use; replaced on reload, so renewed certificates apply
    /// without a restart.
    var tlsContext: NIOSSLContext? {
        tls.withLock { $0 }
    }

    /// TLS and basic auth of the HTTP port (`web-config-file`); replaced on reload like ``tlsContext``.
    var httpGuard: (any HTTPPortGuard)? {
        webGuard.withLock { $0 }
    }

    func apply(
        _ configuration: GatewayConfiguration, tlsContext: NIOSSLContext?, httpGuard: (any HTTPPortGuard)? = nil
    ) {
        current.withLock { $0 = configuration }
        tls.withLock { $0 = tlsContext }
        webGuard.withLock { $0 = httpGuard }
        store.reconfigure(agentTimeout: configuration.agentTimeout, forgetAfter: configuration.forgetAfter)
    }
}
