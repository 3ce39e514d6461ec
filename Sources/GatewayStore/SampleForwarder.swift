public import MonitorModel

/// Where the gateway sends every sample it accepted as new, besides its store: remote write
/// (module MonitorRemoteWrite) implements it. A protocol here keeps that module, and the
/// Foundation that swift-protobuf brings, out of the gateway's other modules.
public protocol SampleForwarder: Sendable {
    /// Takes a new sample; must never block (the caller is a connection's read loop).
    func enqueue(_ sample: Sample, agent: String, now: Double)
    /// Fails the start when the forwarder cannot work (e.g. an unreadable credentials file).
    func checkSetup() throws
    /// Sends until cancelled, then delivers what it still holds within a bound.
    func run() async
    /// Self-metrics for `/metrics`.
    func families() -> [MetricFamily]
}
