import DaemonKit
public import Logging
public import MonitorConfig
public import MonitorModel
public import MonitorSystem
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// The `monitor-agent` daemon: samples on a schedule, delivers over the uplink, reloads on
/// SIGHUP, and on SIGTERM delivers what it still holds (within a bound) before it exits.
public final class AgentService: Sendable {
    /// How long a stopping agent keeps trying to deliver its buffer to a connected gateway.
    public static let drainTimeout = Duration.seconds(5)

    private let state: AgentState
    private let configurationPath: String?
    private let logger: Logger
    private let notifier: SystemdNotifier
    /// Where all of the agent's work runs: its tasks, its timers and its connection.
    private let executor: EventLoopExecutor
    private let collector: SystemCollector
    private let clock: any WallClock
    private let hostName: String

    public init(
        configuration: AgentConfiguration,
        configurationPath: String?,
        logger: Logger,
        notifier: SystemdNotifier = SystemdNotifier(),
        executor: EventLoopExecutor? = nil,
        collector: SystemCollector = SystemCollector(),
        clock: any WallClock = SystemWallClock()
    ) {
        self.state = AgentState(configuration: configuration, session: AgentState.newSessionIdentifier())
        self.configurationPath = configurationPath
        self.logger = logger
        self.notifier = notifier
        self.executor = executor ?? EventLoopExecutor.ownThread()
        self.collector = collector
        self.clock = clock
        self.hostName = HostName.current
    }

    public func run() async throws {
        // Every task the agent starts runs on its event loop (see EventLoopExecutor).
        try await withTaskExecutorPreference(executor) {
            try await runOnEventLoop()
        }
    }

    private func runOnEventLoop() async throws {
        // Signals from here on, SIGHUP before readiness: from then on a reload must never kill us.
        let (events, requests) = DaemonControl.Requests.make()
        defer { requests.finish() }
        // Never closed: the handler stays installed until the process exits.
        _ = try await SignalPipe.open(on: executor.eventLoop) { signal in
            if signal == SIGHUP {
                requests.reload()
            } else {
                requests.shutdown()
            }
        }
        // Every handler is in place now: act on a SIGHUP, SIGTERM or SIGINT that came while starting.
        StartupSignals.replay(logger: logger)
        let configuration = state.configuration
        let name = configuration.resolvedName(hostName: hostName)
        // Fail early and clearly if /proc cannot be read (e.g. a too strict sandbox), or if the
        // TLS files do not load.
        _ = try collector.cpuTimes()
        let tlsContext = try TLSContexts.client(configuration)
        state.shared.withLock { $0.tlsContext = tlsContext }
        if !configuration.spoolDirectory.isEmpty {
            let recovery = try state.openSpool(logger: logger)
            let origin = recovery.resumed ? "resuming session" : "new session"
            logger.notice(
                "spool \(configuration.spoolDirectory): \(origin) \(recovery.session) after sequence \(recovery.highestSequence), acknowledged up to \(recovery.acknowledged), \(recovery.undelivered) to deliver",
                metadata: recovery.notKept > 0 ? ["on-disk-only": "\(recovery.notKept) older than buffer-samples"] : [:]
            )
        }
        for warning in configuration.securityWarnings(path: configurationPath) { logger.warning("\(warning)") }
        logger.notice(
            "monitor-agent \(MonitorVersion.current) sampling as \(name) every \(configuration.interval.configurationText), sending to \(configuration.servers.map(\.description).joined(separator: ", "))"
        )
        notifier.ready(status: statusLine())

        let sampler = Sampler(
            state: state, collector: collector, clock: clock, logger: logger, eventLoop: executor.eventLoop)
        let uplink = Uplink(state: state, executor: executor, logger: logger, hostName: hostName)
        sampler.start()
        defer { sampler.stop() }
        let hooks = DaemonControl.Hooks(status: statusLine) { group in
            group.addTask { await uplink.run() }
            group.addTask { await self.housekeeping() }
        } reload: { [self] _ in
            reload()
        } stop: { [self] in
            await drain()
        }
        await DaemonControl.run(events: events, notifier: notifier, hooks: hooks)
    }

    /// Gives a connected gateway a bounded time to acknowledge what is still buffered.
    ///
    /// An agent waiting out its backoff is woken for one more attempt, and given a moment to start
    /// it: stopped right after a gateway's return, it would otherwise leave samples it could
    /// deliver at once.
    private func drain() async {
        state.shared.withLock { shared in
            shared.stopping = true
            shared.reconnectRequested = shared.connectedServer == nil
        }
        let start = ContinuousClock.now
        let deadline = start.advanced(by: Self.drainTimeout)
        while ContinuousClock.now < deadline {
            let (connected, connecting, buffered) = state.shared.withLock {
                ($0.connectedServer != nil, $0.connecting, $0.buffer.count)
            }
            guard buffered > 0 else { break }
            guard connected || connecting || ContinuousClock.now - start < .milliseconds(500) else { break }
            try? await executor.sleep(for: .milliseconds(20))
        }
        // The account an operator (and the fault tests) can check: every sample taken in this run
        // is delivered, dropped because the buffer was full, or still held at exit (and, with a
        // spool, kept on disk for the next run).
        let (taken, delivered, dropped) = state.shared.withLock {
            ($0.takenCount, $0.acknowledgedCount, $0.buffer.droppedCount)
        }
        let failedWrites = state.spool.withLock { $0?.failedWrites ?? 0 }
        let (left, last) = state.closeSpool()
        var account =
            "\(taken) samples taken, \(delivered) delivered, \(dropped) dropped, \(left) not delivered (last sequence \(last))"
        if failedWrites > 0 { account += "; \(failedWrites) spool writes failed" }
        if left > 0 {
            logger.warning("stopping: \(account)")
        } else {
            logger.notice("stopping: every sample delivered; \(account)")
        }
    }

    /// STATUS= and the watchdog from one loop, on the agent's event loop.
    ///
    /// It wakes only as often as its duties need — the watchdog's half period, a spool flush
    /// every second when `spool-fsync` is a duration, STATUS every few seconds under systemd —
    /// and not at all for a plain agent in a terminal: an idle agent's cost is its samples.
    private func housekeeping() async {
        var duties: [Duration] = []
        if let watchdog = notifier.watchdogInterval { duties.append(watchdog) }
        if notifier.isEnabled { duties.append(.seconds(5)) }
        if case .every = state.configuration.spoolFsync { duties.append(.seconds(1)) }
        guard let period = duties.min() else { return }
        while !Task.isCancelled {
            do {
                // On the event loop's timer: a watchdog ping proves that the loop doing the
                // agent's work still turns.
                try await executor.sleep(for: period)
            } catch {
                return
            }
            notifier.watchdog()
            state.syncSpoolIfDue()
            notifier.status(statusLine())
        }
    }

    private func statusLine() -> String {
        let failedWrites = state.spool.withLock { $0?.failedWrites ?? 0 }
        return state.shared.withLock { shared in
            let dropped = shared.buffer.droppedCount
            var line: String
            if let server = shared.connectedServer {
                line = "connected to \(server), \(shared.buffer.count) buffered"
            } else {
                line = "waiting for a server, \(shared.buffer.count) buffered"
            }
            if dropped > 0 { line += ", \(dropped) dropped" }
            if failedWrites > 0 { line += ", \(failedWrites) spool writes failed" }
            return line
        }
    }

    private func reload() {
        guard
            let ((new, tlsContext), path) = DaemonControl.reloadedConfiguration(
                from: configurationPath, daemon: "monitor-agent", logger: logger,
                load: { path in
                    let new = try AgentConfiguration.load(path: path)
                    return (new, try TLSContexts.client(new))
                })
        else { return }
        let (channel, old): ((any Channel)?, AgentConfiguration) = state.shared.withLock { shared in
            let old = shared.configuration
            // The spool was opened with the old keys and keeps them until the next restart.
            shared.configuration = new
            shared.configuration.spoolDirectory = old.spoolDirectory
            shared.configuration.spoolMaxBytes = old.spoolMaxBytes
            shared.configuration.spoolFsync = old.spoolFsync
            shared.tlsContext = tlsContext
            shared.buffer.resize(to: new.bufferCapacity)
            let moved =
                old.servers != new.servers
                || old.resolvedName(hostName: hostName) != new.resolvedName(hostName: hostName)
            guard moved else { return (nil, old) }
            shared.reconnectRequested = true
            return (shared.channel, old)
        }
        // A new name or server list needs a new hello: end the session, the uplink reconnects.
        channel?.close(promise: nil)
        for warning in new.securityWarnings(path: path) { logger.warning("\(warning)") }
        if new.logLevel != old.logLevel {
            logger.warning("log-level changes take effect at the next restart")
        }
        if (new.spoolDirectory, new.spoolMaxBytes, new.spoolFsync) != (
            old.spoolDirectory, old.spoolMaxBytes, old.spoolFsync
        ) {
            logger.warning("spool-* changes take effect at the next restart")
        }
        logger.notice("configuration reloaded", metadata: ["file": "\(path)"])
    }
}
