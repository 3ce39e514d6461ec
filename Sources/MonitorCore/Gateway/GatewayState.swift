import Logging
import Synchronization

/// What every part of a running gateway shares: the store, the live configuration, counters.
final class GatewayState: Sendable {
    let store: AgentStore
    let counters = GatewayCounters()
    let logger: Logger
    let clock: any WallClock
    /// Forwarding to `[remote-write]`'s receiver, fixed at start (a reload does not add, remove or change it).
    let remoteWriter: RemoteWriter?
    private let current: Mutex<GatewayConfiguration>

    init(configuration: GatewayConfiguration, logger: Logger, clock: any WallClock, remoteWriter: RemoteWriter? = nil) {
        self.store = AgentStore(agentTimeout: configuration.agentTimeout, forgetAfter: configuration.forgetAfter)
        self.current = Mutex(configuration)
        self.logger = logger
        self.clock = clock
        self.remoteWriter = remoteWriter
    }

    /// The configuration in force; new connections read it when they start.
    var configuration: GatewayConfiguration {
        current.withLock { $0 }
    }

    func apply(_ configuration: GatewayConfiguration) {
        current.withLock { $0 = configuration }
        store.reconfigure(agentTimeout: configuration.agentTimeout, forgetAfter: configuration.forgetAfter)
    }
}
