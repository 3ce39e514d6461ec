public import MonitorModel

/// Where the gateway sends every sample it accepted as new, besides its store: remote write
/// (module MonitorRemoteWrite) implements it. A protocol here keeps that module, and the
/// Foundation that swift-protobuf brings, out of the gateway's other modules.
///
/// With a write-ahead log, the forwarder reads native agents' samples from the log
/// (``forward(from:)``) and only the report format's samples, which the log does not hold, come
/// through ``enqueue(_:agent:now:)``.
public protocol SampleForwarder: Sendable {
    /// Takes a new sample; must never block (the caller is a connection's read loop).
    func enqueue(_ sample: Sample, agent: String, now: Double)
    /// From now on, reads the log's records after its confirmed position and confirms what the
    /// receiver took. Called once, before the first append and before ``run()``.
    func forward(from log: any ForwardingLog)
    /// The log holds records up to `number`. Called under the log's lock: must not call the log.
    func logAppended(upTo number: UInt64)
    /// The log's bound deleted records `first..<first + count`. Called under the log's lock: must
    /// not call the log.
    func logDropped(first: UInt64, count: UInt64)
    /// Fails the start when the forwarder cannot work (e.g. an unreadable credentials file).
    func checkSetup() throws
    /// Sends until cancelled, then delivers what it still holds within a bound.
    func run() async
    /// Self-metrics for `/metrics`.
    func families() -> [MetricFamily]
}
