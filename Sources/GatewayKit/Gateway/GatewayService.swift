import DaemonKit
public import GatewayConfig
public import GatewayStore
import GatewayWAL
public import Logging
import MonitorConfig
public import MonitorModel
public import MonitorSystem
public import NIOCore
public import NIOPosix
public import ServiceLifecycle
import Synchronization
import UnixSignals

#if canImport(Glibc)
    import Glibc
#endif

/// The `monitord` daemon: the agent port, the metrics port, expiry, reload and systemd duties.
public final class GatewayService: Service {
    /// Where the gateway listens once it is ready (the real ports when the configuration asked for port 0).
    public struct Addresses: Sendable, CustomStringConvertible {
        public var agents: String
        public var metrics: String
        /// `https` when the web config file puts TLS on the HTTP port.
        public var metricsScheme = "http"
        public var description: String { "agents on \(agents), metrics on \(metricsScheme)://\(metrics)/metrics" }
    }

    private let state: GatewayState
    private let configurationPath: String?
    private let notifier: SystemdNotifier
    private let eventLoopGroup: any EventLoopGroup
    private let onReady: @Sendable (Addresses) -> Void
    private let httpGuardLoader: HTTPPortGuardLoader?
    /// Remote write's view of the log, when it forwards from it: flushed at stop.
    private let logForwarding = Mutex<LogForwarding?>(nil)
    /// When the pages of code that starting (or a reload) ran go back (``ResidentMemory``): once
    /// the agents have had time to come back and the gateway runs only its steady state.
    private let pageReleaseDue = Mutex<ContinuousClock.Instant?>(nil)
    private let pageReleaseDelay: Duration

    public init(
        configuration: GatewayConfiguration,
        configurationPath: String?,
        logger: Logger,
        notifier: SystemdNotifier = SystemdNotifier(),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        clock: any WallClock = SystemWallClock(),
        forwarder: (any SampleForwarder)? = nil,
        httpGuardLoader: HTTPPortGuardLoader? = nil,
        pageReleaseDelay: Duration = .seconds(60),
        onReady: @escaping @Sendable (Addresses) -> Void = { _ in }
    ) {
        self.httpGuardLoader = httpGuardLoader
        self.pageReleaseDelay = pageReleaseDelay
        self.state = GatewayState(
            configuration: configuration, tlsContext: nil, logger: logger, clock: clock, forwarder: forwarder)
        self.configurationPath = configurationPath
        self.notifier = notifier
        self.eventLoopGroup = eventLoopGroup
        self.onReady = onReady
    }

    public func run() async throws {
        // Descriptors first: the limits below must fit in what the process may open.
        let budget = DescriptorBudget.raiseToHardLimit()
        try budget.requireMinimum()
        let configuration = effective(state.configuration, budget: budget)
        // A certificate or key that does not load stops the start with its file named.
        state.apply(
            configuration, tlsContext: try TLSContexts.server(configuration), httpGuard: try httpGuard(configuration))
        try state.forwarder?.checkSetup()
        // The log is replayed into the store before the agent port opens: the first welcome already
        // carries the right last_seq.
        if let directory = configuration.walDirectory {
            // The service group turns SIGTERM and SIGINT into a graceful shutdown from here on; the
            // replay is synchronous, so it is told by a flag it looks at between progress steps.
            let stopAsked = StopFlag()
            try await withGracefulShutdownHandler {
                try openLog(directory, configuration) { stopAsked.isSet }
            } onGracefulShutdown: {
                stopAsked.set()
            }
        }
        // Trap SIGHUP before announcing readiness: from then on a reload must never kill us.
        let hangups = await UnixSignalsSequence(trapping: .sighup)
        // Every handler is in place now: act on a SIGHUP, SIGTERM or SIGINT that came while starting.
        StartupSignals.replay(logger: state.logger)
        var agents = try await AgentListener.bind(configuration.listen, state: state, group: eventLoopGroup)
        var metrics: HTTPPort
        do {
            metrics = try await HTTPPort.bind(configuration.metricsListen, state: state, group: eventLoopGroup)
        } catch {
            agents.close()
            throw error
        }
        var addresses = Addresses(
            agents: agents.localAddress.map(\.hostAndPort) ?? "\(configuration.listen)",
            metrics: metrics.localAddress.map(\.hostAndPort) ?? "\(configuration.metricsListen)"
        )
        if state.httpGuard?.usesTLS == true { addresses.metricsScheme = "https" }
        state.logger.notice("monitord \(MonitorVersion.current) listening: \(addresses)")
        notifier.ready(status: statusLine())
        onReady(addresses)
        pageReleaseDue.withLock { $0 = .now + pageReleaseDelay }

        let hooks = DaemonControl.Hooks(status: { [self] in statusLine() }) { [self] group in
            group.addTask { [agents] in await agents.serve() }
            group.addTask { [metrics] in await metrics.serve() }
            group.addTask { await self.housekeeping() }
            if let writer = state.forwarder {
                group.addTask { await writer.run() }
            }
            if let wal = state.wal {
                group.addTask { await wal.run() }
            }
        } reload: { [self] group in
            await reload(agents: &agents, metrics: &metrics, group: &group, budget: budget)
        } stop: { [self] in
            state.logger.notice("stopping: closing listeners and connections")
            agents.close()
            metrics.close()
        }
        await DaemonControl.run(hangups: hangups, notifier: notifier, hooks: hooks)
        // The sender has stopped: the position it confirmed last goes to disk before the log closes.
        await logForwarding.withLock { $0 }?.flush()
        await state.wal?.close()
    }

    /// How many replayed records between two progress notifications, and the start time each one
    /// grants: far more than replaying that many records takes.
    static let replayProgressRecords = 8192
    static let replayProgressTimeout = Duration.seconds(30)

    /// Opens and replays the log; ends the process if `stopAsked` says, or a SIGTERM or SIGINT
    /// held since the start says, that a stop was asked for meanwhile.
    private func openLog(
        _ directory: String, _ configuration: GatewayConfiguration, stopAsked: () -> Bool
    ) throws {
        let started = ContinuousClock.now
        var replayed = 0
        // With remote write, forwarding reads the log: it hears of every append and every deletion
        // by the bound, in the log's order.
        let events = state.forwarder.map { forwarder in
            WriteAheadLog.Events(
                appended: { forwarder.logAppended(upTo: $0) },
                dropped: { forwarder.logDropped(first: $0, count: $1) })
        }
        // What a previous run passed over unread is not taken as sent (audit 15, F05).
        let positionFile = state.forwarder != nil ? ForwardingPosition.load(directory: directory) : nil
        let position = positionFile?.number ?? 0
        // Only the file the position was written after counts (audit 19, B).
        let losses =
            state.forwarder != nil
            ? ForwardingLosses.load(
                directory: directory, positionRecorded: position > 0, boundTo: positionFile?.lossesNonce)
            : .init(ranges: [])
        if let problem = losses.problem {
            state.logger.error(
                "remote write: the record of records passed over is unusable (\(problem)); nothing forwarded before this start is taken as sent"
            )
        }
        let (wal, recovery) = try WriteAheadLog.open(
            directory: directory, maximumBytes: configuration.walMaxBytes,
            policy: configuration.walFsyncPeriod.map { WriteAheadLog.SyncPolicy.every($0) } ?? .always,
            retention: WriteAheadLog.Retention(
                forgetAfter: configuration.forgetAfter, maximumAgents: configuration.maxAgents),
            logger: state.logger, events: events,
            // Each agent's newest sample forwarded before this start: those sent again go no further.
            forwardedThrough: position,
            passedOver: losses.ranges
        ) { _ in
            replayed += 1
            // A large log takes a while: systemd hears that the start is progressing (and would
            // otherwise kill it at TimeoutStartSec=, then replay again from the start, for ever).
            if replayed % Self.replayProgressRecords == 0 {
                // A stop asked for now ends the process here, as a kill -9 at this point would:
                // replay only reads the log (its repairs are each complete when made), nothing has
                // been acknowledged yet, and the next start replays it again. Waiting would keep
                // `systemctl stop` (or a shutdown) for as long as the rest of the log takes.
                if stopAsked() || StartupSignals.stopRequested {
                    state.logger.notice(
                        "stopped while replaying the write-ahead log (\(replayed) samples read): nothing was lost, the next start replays it"
                    )
                    exit(0)
                }
                notifier.extendTimeout(
                    by: Self.replayProgressTimeout,
                    status: "replaying the write-ahead log: \(replayed) samples")
            }
        }
        // The counters, sessions and latest values the records and the segments' checkpoints add up to.
        state.store.restore(recovery.checkpoint)
        state.wal = wal
        if let forwarder = state.forwarder {
            let log = LogForwarding(wal: wal, newestForwarded: recovery.newestForwarded, logger: state.logger)
            // Records passed over are named on disk before the position can pass them (reported
            // before the request after them is sent), so that a restart does not take them as sent.
            let passedOver = PassedOverRecords(
                ForwardingLosses.kept(losses.ranges, upTo: wal.lastAppended), directory: directory,
                logger: state.logger)
            let logger = state.logger
            let recordLoss: @Sendable (ClosedRange<UInt64>) -> Void = { passedOver.add($0) }
            // Written at every start, before any position: a position found without it means it was
            // deleted, which is then not taken for "nothing passed over" (audit 17, A). No position
            // is written while it cannot be (audit 19, A).
            passedOver.storeNow()
            log.storePosition = { (number) throws(FileOperationError) in try passedOver.storePosition(number) }
            wal.onRecordsLost = recordLoss
            if configuration.acknowledge == .forwarded {
                // The sequences the log restored may be of records a previous run passed over (found
                // lost as it stopped, say): taken as known, their resends would be acknowledged and
                // never forwarded (audit 15, F05). Every replay is logged anew; what was sent before
                // goes no further (the order guard starts from what was sent).
                state.store.forgetSequences()
                let acknowledgements = ForwardedAcknowledgements(confirmed: log.confirmed)
                // What the receiver has not confirmed was promised to the agents: the bound keeps it.
                wal.keepUnconfirmed(after: log.confirmed)
                // A loss takes the records after it along: the agents' samples come again in order.
                wal.widenLossesToLastAppended()
                let store = state.store
                log.onConfirmed = { number in
                    wal.confirmed(upTo: number)
                    // Records read from a directory that replaced the locked one (an older copy, say)
                    // are not what the agents sent: nothing more is acknowledged (audit 12, F01).
                    do throws(FileOperationError) {
                        try wal.verifyDirectory()
                    } catch {
                        if acknowledgements.halt() {
                            logger.critical(
                                "write-ahead log: \(error); nothing more is acknowledged as forwarded until monitord is restarted"
                            )
                        }
                        return
                    }
                    acknowledgements.confirm(upTo: number)
                }
                // Records remote write passes over unread (damaged, gone) are not acknowledged as
                // forwarded; the agents send their samples again and the store, forgetting every
                // agent's last sequence, takes the replays as new and logs them again (audit 12, F01, F02).
                wal.onRecordsLost = { records in
                    recordLoss(records)
                    // In this order: a connection that starts after the report has its replays logged anew.
                    store.forgetSequences()
                    acknowledgements.lose(records)
                    logger.error(
                        "remote write: records \(records.lowerBound)-\(records.upperBound) of the write-ahead log are passed over (from the first damaged or gone one to the last appended): the agents are asked to send again what they hold unacknowledged, so that each series reaches the receiver in order"
                    )
                }
                state.forwardedAcknowledgements = acknowledgements
            }
            logForwarding.withLock { $0 = log }
            forwarder.forward(from: log)
            // What the segments hold, not the numbering's span: records of a missing segment are not sent.
            let held = wal.recordsHeld(after: log.confirmed)
            if held > 0 {
                state.logger.notice(
                    "remote write: \(held) records of the write-ahead log after position \(log.confirmed) are forwarded first"
                )
            }
        }
        let settled = state.store.settleAfterRestore(now: state.clock.now(), maximumAgents: configuration.maxAgents)
        if !settled.expired.isEmpty || !settled.overLimit.isEmpty {
            state.logger.notice(
                "write-ahead log \(directory): \(settled.expired.count) restored agents were past forget-after and \(settled.overLimit.count) beyond max-agents (the least recently active): forgotten"
            )
        }
        state.logger.notice(
            "write-ahead log \(directory): restored \(recovery.records) samples of \(state.store.agentCount) agents from \(recovery.segments) segments in \(ContinuousClock.now - started)",
            metadata: ["acknowledge": "\(configuration.acknowledge.rawValue)", "damaged": "\(recovery.damaged)"])
    }

    /// Expiry, STATUS= and the watchdog, from one loop: if this loop stalls, systemd stops
    /// hearing from us and restarts the daemon, which is the point of the watchdog.
    private func housekeeping() async {
        let period = min(notifier.watchdogInterval ?? .seconds(1), .seconds(1))
        var lastTotal = totalSamples()
        var lastTime = ContinuousClock.now
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: period)
            } catch {
                return
            }
            for agent in state.store.expire(now: state.clock.now()) {
                state.logger.info("agent forgotten", metadata: ["agent": "\(agent)"])
            }
            releasePagesIfDue()
            guard await notifier.watchdog(afterRoundTripThrough: eventLoopGroup) else { continue }
            guard notifier.isEnabled else { continue }
            let total = totalSamples()
            let now = ContinuousClock.now
            let rate = Double(total &- lastTotal) / max((now - lastTime).inSeconds, 0.001)
            (lastTotal, lastTime) = (total, now)
            notifier.status(statusLine(samplesPerSecond: rate))
        }
    }

    /// Starting, replaying the log, an agent storm of reconnects and a reload run code the steady
    /// state never runs again: its pages would stay resident for the life of the process (about 8 MB
    /// of the binary's text at 5,000 agents). They go back once; what runs next faults back in.
    private func releasePagesIfDue() {
        let due = pageReleaseDue.withLock { due -> Bool in
            guard let instant = due, ContinuousClock.now >= instant else { return false }
            due = nil
            return true
        }
        guard due else { return }
        let advised = ResidentMemory.releaseUnusedPages()
        state.logger.debug("pages of code that ran once given back (\(advised >> 20) MiB of code mappings advised)")
    }

    private func totalSamples() -> UInt64 {
        state.store.summary(now: state.clock.now()).samplesReceived
    }

    private func statusLine(samplesPerSecond: Double? = nil) -> String {
        let (up, known, _) = state.store.summary(now: state.clock.now())
        var line = "\(up) agent\(up == 1 ? "" : "s") up, \(known) known"
        if let samplesPerSecond {
            line += ", \((samplesPerSecond * 10).rounded() / 10) samples/s"
        }
        return line
    }

    /// Moves a listener to a new address: the new socket is bound first and the old one closed
    /// only then, so a reload naming a busy or invalid address keeps the gateway reachable where
    /// it was. Connections already open stay where they are. Returns the address in force.
    private func rebind<Listener: GatewayListener>(
        _ listener: inout Listener,
        from old: HostPort,
        to new: HostPort,
        port: String,
        group: inout TaskGroup<Void>
    ) async -> HostPort {
        guard new != old else { return old }
        do {
            let replacement = try await Listener.bind(new, state: state, group: eventLoopGroup)
            listener.close()
            listener = replacement
            group.addTask { await replacement.serve() }
            state.logger.notice("\(port) moved to \(new)")
            return new
        } catch {
            state.logger.error("cannot listen on \(new), keeping the \(port) on \(old): \(error)")
            return old
        }
    }

    /// The HTTP port's guard read from `web-config-file`, or nil when none is configured.
    private func httpGuard(_ configuration: GatewayConfiguration) throws(ConfigurationError) -> (any HTTPPortGuard)? {
        guard let path = configuration.webConfigFile else { return nil }
        guard let httpGuardLoader else {
            throw ConfigurationError(file: path, line: nil, message: "this program cannot read web config files")
        }
        return try httpGuardLoader(path)
    }

    /// `configuration` fitted to the descriptor budget, with a warning logged for everything the
    /// operator should know before trusting it.
    private func effective(_ configuration: GatewayConfiguration, budget: DescriptorBudget) -> GatewayConfiguration {
        let (fitted, warnings) = budget.fit(configuration)
        for warning in warnings { state.logger.warning("\(warning)") }
        if fitted.allowReportFormatAgents, configuration.tokens != nil || configuration.tlsIdentity.certificate != nil {
            let text =
                "tokens or TLS are configured, but allow-legacy-agents = yes still lets report-format peers in "
                + "without either (up to \(configuration.anonymousAgentQuota) of them: max-anonymous-agents); "
                + "set allow-legacy-agents = no once no report-format agent is left"
            state.logger.warning("\(text)")
        }
        if let tokensFile = configuration.tokensFile,
            let warning = SecretFileAccess.warning(for: tokensFile, key: "tokens-file")
        {
            state.logger.warning("\(warning)")
        }
        return fitted
    }

    private func reload(
        agents: inout AgentListener,
        metrics: inout HTTPPort,
        group: inout TaskGroup<Void>,
        budget: DescriptorBudget
    ) async {
        guard
            let ((loaded, tlsContext, httpGuard), path) = DaemonControl.reloadedConfiguration(
                from: configurationPath, daemon: "monitord", logger: state.logger,
                load: { path in
                    let new = try GatewayConfiguration.load(path: path)
                    return (new, try TLSContexts.server(new), try self.httpGuard(new))
                })
        else { return }
        var new = loaded
        let old = state.configuration
        new.listen = await rebind(&agents, from: old.listen, to: new.listen, port: "agent port", group: &group)
        new.metricsListen = await rebind(
            &metrics, from: old.metricsListen, to: new.metricsListen, port: "metrics port", group: &group)
        if new.logLevel != old.logLevel {
            state.logger.warning("log-level changes take effect at the next restart")
        }
        if (new.acknowledge, new.walDirectory, new.walFsyncPeriod, new.walMaxBytes)
            != (old.acknowledge, old.walDirectory, old.walFsyncPeriod, old.walMaxBytes)
        {
            state.logger.warning("acknowledge and wal-* changes take effect at the next restart")
            (new.acknowledge, new.walDirectory, new.walFsyncPeriod, new.walMaxBytes) =
                (old.acknowledge, old.walDirectory, old.walFsyncPeriod, old.walMaxBytes)
        }
        if new.remoteWrite != old.remoteWrite {
            state.logger.warning("[remote-write] changes take effect at the next restart")
        }
        new = effective(new, budget: budget)
        state.apply(new, tlsContext: tlsContext, httpGuard: httpGuard)
        state.logger.notice("configuration reloaded", metadata: ["file": "\(path)"])
        pageReleaseDue.withLock { $0 = .now + pageReleaseDelay }
        // A token removed or changed in the file takes effect now, not at the agent's next reconnect.
        // Hellos racing this are settled by the live set: see ``LiveConnections``.
        let revoked = state.live.replaceTokens(with: new.tokens)
        if !revoked.isEmpty {
            // One line, however many: each close is also counted and logged (throttled) as token_revoked.
            let names = revoked.prefix(10).joined(separator: ", ") + (revoked.count > 10 ? ", ..." : "")
            state.logger.notice("disconnected \(revoked.count) agent(s) whose token was revoked: \(names)")
        }
        // So do TLS required and report-format peers refused: connected peers the new settings would
        // not admit are closed as a new one would be refused (each counted and logged, throttled).
        let inadmissible = state.live.closeInadmissible(
            requireTLS: tlsContext != nil, allowReportFormat: new.allowReportFormatAgents)
        if inadmissible > 0 {
            state.logger.notice("disconnected \(inadmissible) peer(s) the reloaded configuration no longer admits")
        }
    }
}

/// A graceful shutdown asked for while the service is still starting, for synchronous work to look at.
private final class StopFlag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .relaxed) }
    func set() { value.store(true, ordering: .relaxed) }
}
