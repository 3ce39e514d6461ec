/// What a load run does: how many simulated agents, speaking which dialect, how fast, for how long.
public struct LoadPlan: Sendable, Equatable {
    /// Which of the two dialects of the agent port the simulated agents speak (docs/protocol.md).
    public enum Dialect: String, Sendable, CaseIterable {
        /// Hello, numbered samples, cumulative acks: send→ack latency is measurable.
        case native
        /// The report format's undelimited JSON objects: no acks, so only what was sent is known. Its
        /// raw value is the command line's `--dialect report` and the summary's `"dialect"`, and stays.
        case reportFormat = "report"
    }

    /// How each agent paces its samples.
    public enum Pace: Sendable, Equatable {
        /// One sample per interval, the first at a random offset so agents do not fire together.
        case interval(Duration)
        /// As fast as possible: native agents keep `window` samples unacknowledged; report-format
        /// agents write whenever the socket accepts more.
        case flood(window: Int)
    }

    public var host: String
    public var port: Int
    public var agents: Int
    public var dialect: Dialect
    public var pace: Pace
    /// Measurement time, counted from the moment every agent has connected (or the ramp-up is over).
    public var duration: Duration
    /// Connections are spread evenly over this time, so the gateway sees a bounded connect rate.
    public var rampUp: Duration
    /// Connection attempts in flight at once during the ramp-up.
    public var maxPendingConnects: Int
    /// A run with more agents than this is refused: a guard against exhausting file descriptors.
    public var maxConnections: Int
    /// Agents are named `<prefix><index>` (index from 1), which becomes their `agent_number` label.
    public var namePrefix: String
    /// After the measurement, agents stop sending and wait this long for outstanding acks.
    public var drain: Duration
    /// How many loopback source addresses the connections are spread over: with N above 1, agent i
    /// binds to 127.0.0.((i − 1) mod N + 1) before connecting. The kernel picks ephemeral ports per
    /// source address (about 28,000 of them on Linux's default range), so 50,000 connections to one
    /// gateway port need at least two addresses. 1 leaves the source to the kernel.
    public var sourceAddresses: Int

    /// The most source addresses a plan may use: 127.0.0.1 … 127.0.0.254 (no network or broadcast
    /// address of a /24, so the list also makes sense to a reader who thinks in /24s).
    public static let maximumSourceAddresses = 254

    public init(
        host: String = "127.0.0.1",
        port: Int = 5578,
        agents: Int = 1,
        dialect: Dialect = .native,
        pace: Pace = .interval(.seconds(1)),
        duration: Duration = .seconds(10),
        rampUp: Duration = .seconds(1),
        maxPendingConnects: Int = 256,
        maxConnections: Int = 20_000,
        namePrefix: String = "loadgen-",
        drain: Duration = .seconds(2),
        sourceAddresses: Int = 1
    ) {
        self.host = host
        self.port = port
        self.agents = agents
        self.dialect = dialect
        self.pace = pace
        self.duration = duration
        self.rampUp = rampUp
        self.maxPendingConnects = maxPendingConnects
        self.maxConnections = maxConnections
        self.namePrefix = namePrefix
        self.drain = drain
        self.sourceAddresses = sourceAddresses
    }

    /// The name agent `index` (from 1) announces.
    public func agentName(_ index: Int) -> String {
        "\(namePrefix)\(index)"
    }

    /// The loopback address agent `index` (from 1) binds to before connecting, or `nil` when the
    /// plan leaves the source to the kernel (one source address).
    public func sourceAddress(ofAgent index: Int) -> String? {
        guard sourceAddresses > 1 else { return nil }
        return "127.0.0.\((index - 1) % sourceAddresses + 1)"
    }
}
