import DaemonKit
import MonitorProtocol
public import NIOCore
import NIOPosix

#if canImport(Glibc)
    import Glibc
#endif

/// Why a run could not start.
public struct LoadPlanError: Error, CustomStringConvertible {
    public var description: String
}

/// Runs a `LoadPlan` against a gateway: ramps the agents up, measures for the planned time,
/// stops sending, drains outstanding acks, closes every connection and reports.
public struct LoadGenerator: Sendable {
    public let plan: LoadPlan
    private let group: any EventLoopGroup

    /// - Parameter group: where the connections run; `nil` for NIO's shared multi-threaded group.
    public init(plan: LoadPlan, group: (any EventLoopGroup)? = nil) {
        self.plan = plan
        self.group = group ?? MultiThreadedEventLoopGroup.singleton
    }

    public func run() async throws -> LoadReport {
        guard plan.agents >= 1 else { throw LoadPlanError(description: "at least one agent is needed") }
        guard plan.agents <= plan.maxConnections else {
            throw LoadPlanError(
                description: "\(plan.agents) agents exceed --max-connections \(plan.maxConnections)")
        }
        try Self.checkSourceAddresses(of: plan)
        try Self.ensureDescriptors(for: plan.agents)

        let statistics = LoadStatistics()
        let session = Self.randomSession()
        let started = MonotonicClock.nowNanoseconds()
        let channels = await connectAll(statistics: statistics, session: session)
        let connectedAfter = Double(MonotonicClock.nowNanoseconds() - started) / 1e9

        // Measurement window: counters are read at its edges, latencies recorded within.
        let sentBefore = statistics.samplesSent.load(ordering: .relaxed)
        let ackedBefore = statistics.samplesAcknowledged.load(ordering: .relaxed)
        let windowStart = MonotonicClock.nowNanoseconds()
        statistics.measuring.store(true, ordering: .relaxed)
        try? await Task.sleep(for: plan.duration)
        statistics.measuring.store(false, ordering: .relaxed)
        let windowSeconds = Double(MonotonicClock.nowNanoseconds() - windowStart) / 1e9
        let sentInWindow = statistics.samplesSent.load(ordering: .relaxed) - sentBefore
        let ackedInWindow = statistics.samplesAcknowledged.load(ordering: .relaxed) - ackedBefore

        statistics.stopping.store(true, ordering: .relaxed)
        if plan.dialect == .native {
            let drainEnd = ContinuousClock.now + plan.drain
            while ContinuousClock.now < drainEnd,
                statistics.samplesAcknowledged.load(ordering: .relaxed)
                    < statistics.samplesSent.load(ordering: .relaxed)
            {
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        let openAtEnd = channels.filter(\.isActive).count
        for channel in channels {
            channel.close(promise: nil)
        }
        for channel in channels {
            try? await channel.closeFuture.get()
        }

        var (latencies, reasons) = statistics.takeLatenciesAndReasons()
        return LoadReport(
            plan: plan,
            connected: statistics.connected.load(ordering: .relaxed),
            connectFailures: statistics.connectFailures.load(ordering: .relaxed),
            openAtEnd: openAtEnd,
            unexpectedCloses: statistics.unexpectedCloses.load(ordering: .relaxed),
            samplesSent: statistics.samplesSent.load(ordering: .relaxed),
            samplesAcknowledged: statistics.samplesAcknowledged.load(ordering: .relaxed),
            errors: statistics.errors.load(ordering: .relaxed),
            errorReasons: reasons,
            rampUpSeconds: connectedAfter,
            windowSeconds: windowSeconds,
            sentInWindow: sentInWindow,
            acknowledgedInWindow: ackedInWindow,
            latency: LatencySummary(sorting: &latencies)
        )
    }

    /// Opens one connection per agent, spread evenly over the ramp-up, with at most
    /// `maxPendingConnects` attempts in flight. Failed attempts are counted, not retried.
    private func connectAll(statistics: LoadStatistics, session: String) async -> [any Channel] {
        let plan = self.plan
        let group = self.group
        let start = ContinuousClock.now
        let step = plan.rampUp / plan.agents
        return await withTaskGroup(of: (any Channel)?.self) { tasks in
            var channels: [any Channel] = []
            channels.reserveCapacity(plan.agents)
            var pending = 0
            for index in 1...plan.agents {
                if pending >= plan.maxPendingConnects, let finished = await tasks.next() {
                    pending -= 1
                    if let finished { channels.append(finished) }
                }
                let due = start + step * (index - 1)
                if due > ContinuousClock.now {
                    try? await Task.sleep(until: due)
                }
                let name = plan.agentName(index)
                // Sessions differ per agent but share a per-run prefix, so a rerun never replays.
                let agentSession = session + String(index, radix: 16)
                let source = plan.sourceAddress(ofAgent: index)
                tasks.addTask {
                    do {
                        return try await Self.bootstrap(group: group, source: source)
                            .channelInitializer { channel in
                                channel.eventLoop.makeCompletedFuture {
                                    try channel.pipeline.syncOperations.addHandlers([
                                        ByteToMessageHandler(
                                            JSONMessageDecoder(
                                                maximumObjectBytes: 64 * 1024,
                                                decode: ProtocolCodec.decodeGatewayMessage)),
                                        SimulatedAgentHandler(
                                            name: name, session: agentSession, plan: plan, statistics: statistics),
                                    ])
                                }
                            }.connect(host: plan.host, port: plan.port).get()
                    } catch {
                        statistics.connectFailures.add(1, ordering: .relaxed)
                        statistics.recordError("connect: \(error)")
                        return nil
                    }
                }
                pending += 1
            }
            for await finished in tasks {
                if let finished { channels.append(finished) }
            }
            return channels
        }
    }

    /// A client bootstrap for one agent, bound to `source` (an IPv4 address) when it has one.
    private static func bootstrap(group: any EventLoopGroup, source: String?) throws -> ClientBootstrap {
        let bootstrap = ClientBootstrap(group: group)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(10))
        guard let source else { return bootstrap }
        // IP_BIND_ADDRESS_NO_PORT: the port is chosen at connect, unique per destination, instead
        // of reserved at bind for every destination.
        let bindAddressNoPort = ChannelOptions.Types.SocketOption(
            level: .ip, name: NIOBSDSocket.Option(rawValue: CInt(IP_BIND_ADDRESS_NO_PORT)))
        return
            bootstrap
            .channelOption(bindAddressNoPort, value: 1)
            .bind(to: try SocketAddress(ipAddress: source, port: 0))
    }

    /// Several source addresses are 127.0.0.x: they can only reach a gateway on IPv4 loopback.
    private static func checkSourceAddresses(of plan: LoadPlan) throws {
        guard (1...LoadPlan.maximumSourceAddresses).contains(plan.sourceAddresses) else {
            throw LoadPlanError(
                description:
                    "--source-addresses must be between 1 and \(LoadPlan.maximumSourceAddresses), got \(plan.sourceAddresses)"
            )
        }
        guard plan.sourceAddresses > 1 else { return }
        guard plan.host.hasPrefix("127."), let server = try? SocketAddress(ipAddress: plan.host, port: plan.port),
            server.protocol == .inet
        else {
            throw LoadPlanError(
                description:
                    "--source-addresses \(plan.sourceAddresses) binds to 127.0.0.x, so the server must be an IPv4 loopback address (127.x.x.x), got \(plan.host)"
            )
        }
    }

    /// Raises the soft descriptor limit to the hard one when the run needs more than it allows.
    private static func ensureDescriptors(for connections: Int) throws {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        let needed = rlim_t(connections + 64)
        if limit.rlim_cur < needed {
            limit.rlim_cur = min(needed, limit.rlim_max)
            _ = setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit)
        }
        guard limit.rlim_cur >= needed else {
            throw LoadPlanError(
                description:
                    "\(connections) connections need \(needed) file descriptors; the limit is \(limit.rlim_cur) (raise it with ulimit -n)"
            )
        }
    }

    private static func randomSession() -> String {
        var generator = SystemRandomNumberGenerator()
        let value = generator.next() as UInt64
        let text = String(value, radix: 16)
        return String(repeating: "0", count: 16 - text.count) + text
    }
}
