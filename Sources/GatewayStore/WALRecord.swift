public import MonitorModel

/// One sample as the gateway took it from a native agent, as its write-ahead log holds it: what a
/// restart needs to rebuild the store (latest values, the last sequence of each agent session, the
/// counters), and what remote write reads back from the log (``ForwardingLog``). Here, beside the
/// store it rebuilds, so that the log (GatewayWAL) and remote write share it without importing
/// each other.
public struct WALRecord: Sendable, Equatable {
    public var agent: String
    public var session: String
    /// Unix time at which the gateway accepted it: replayed as the store's `now`, so that a
    /// restored agent is exactly as fresh as it was.
    public var arrival: Double
    public var sample: Sample

    public init(agent: String, session: String, arrival: Double, sample: Sample) {
        self.agent = agent
        self.session = session
        self.arrival = arrival
        self.sample = sample
    }
}
