import GatewayConfig
import GatewayStore
import GatewayWAL
import Logging
import MonitorConfig
import MonitorModel
import MonitorSystem
import NIOSSL
import Synchronization

/// What every part of a running gateway shares: the store, the live configuration, counters.
final class GatewayState: Sendable {
    let store: AgentStore
    let counters = GatewayCounters()
    let limiter = ConnectionLimiter()
    /// Open connections on the HTTP port (only the total is limited there).
    let httpConnections = HTTPConnectionPool()
    let live: LiveConnections
    private let refusalLog = LogThrottle<PeerErrorReason>()
    /// Connects and disconnects: a peer churning connections must not flood the journal either.
    private let connectionLog = LogThrottle<String>(limit: 20, window: .seconds(10))
    private let sampleLog = LogThrottle<SampleEvent>()
    let logger: Logger
    let clock: any WallClock
    /// Forwarding to `[remote-write]`'s receiver, fixed at start (a reload does not add, remove or change it).
    /// Remote write, when configured: gets every sample the store accepted as new.
    let forwarder: (any SampleForwarder)?
    /// The write-ahead log, once opened (when `wal-directory` is set): every new native sample goes
    /// into it before its ack, which waits for it with `acknowledge = durable`.
    var wal: WriteAheadLog? {
        get { log.withLock { $0 } }
        set { log.withLock { $0 = newValue } }
    }
    private let log = Mutex<WriteAheadLog?>(nil)
    /// With `acknowledge = forwarded`, once the log is open: how far remote write has confirmed it,
    /// and the connections whose acks wait for that.
    var forwardedAcknowledgements: ForwardedAcknowledgements? {
        get { acknowledgements.withLock { $0 } }
        set { acknowledgements.withLock { $0 = newValue } }
    }
    private let acknowledgements = Mutex<ForwardedAcknowledgements?>(nil)
    private let current: Mutex<GatewayConfiguration>
    private let tls: Mutex<NIOSSLContext?>
    private let webGuard: Mutex<(any HTTPPortGuard)?> = Mutex(nil)
    /// How many times the configuration was applied: an HTTP connection accepted under an earlier
    /// one is closed at its next request, so that TLS or client certificates a reload requires reach
    /// keep-alive connections too (audit 7, 06).
    private let generation = Atomic<UInt64>(0)

    init(
        configuration: GatewayConfiguration,
        tlsContext: NIOSSLContext?,
        logger: Logger,
        clock: any WallClock,
        forwarder: (any SampleForwarder)? = nil
    ) {
        self.tls = Mutex(tlsContext)
        self.store = AgentStore(
            agentTimeout: configuration.agentTimeout, forgetAfter: configuration.forgetAfter,
            forgetAnonymousAfter: configuration.forgetAnonymousAfter,
            clockSkewTolerance: configuration.clockSkewTolerance)
        self.current = Mutex(configuration)
        self.live = LiveConnections(tokens: configuration.tokens)
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

    /// Logs an agent's connect or disconnect (`event`), at most 20 lines of each every 10 s; the next line
    /// logged says how many were held back.
    func logConnection(_ event: String, metadata: Logger.Metadata) {
        guard case .log(let suppressed) = connectionLog.check(event) else { return }
        var metadata = metadata
        if suppressed > 0 { metadata["suppressed"] = "\(suppressed)" }
        logger.info("\(event)", metadata: metadata)
    }

    /// Counts a sample not kept as sent and logs it (throttled; routine duplicates are only counted).
    func sampleEvent(_ event: SampleEvent, agent: String) {
        counters.sampleEvent(event)
        let text: String
        switch event {
        case .dropped(.duplicate): return
        case .dropped(.superseded): text = "sample dropped: its connection was superseded by a newer one"
        case .clampedTimestamp:
            text =
                "sample timestamp ahead of the gateway's clock beyond clock-skew-tolerance: "
                + "stored with its time of arrival"
        }
        guard case .log(let suppressed) = sampleLog.check(event) else { return }
        var metadata: Logger.Metadata = ["agent": "\(agent)"]
        if suppressed > 0 { metadata["suppressed"] = "\(suppressed)" }
        logger.notice("\(text)", metadata: metadata)
    }

    /// The TLS context new connections use; replaced on reload, so renewed certificates apply
    /// without a restart.
    var tlsContext: NIOSSLContext? {
        tls.withLock { $0 }
    }

    /// Changes each time a configuration is applied (a reload).
    var configurationGeneration: UInt64 { generation.load(ordering: .sequentiallyConsistent) }

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
        generation.wrappingAdd(1, ordering: .sequentiallyConsistent)
        store.reconfigure(
            agentTimeout: configuration.agentTimeout, forgetAfter: configuration.forgetAfter,
            forgetAnonymousAfter: configuration.forgetAnonymousAfter,
            clockSkewTolerance: configuration.clockSkewTolerance)
    }
}
