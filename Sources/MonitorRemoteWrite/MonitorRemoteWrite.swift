// MonitorRemoteWrite: forwarding every accepted sample to a Prometheus remote-write receiver.
//
// What it holds: the queue, the protobuf + snappy encoding, the HTTP transport, retries and the
// counters, behind GatewayStore's `SampleForwarder`.
//
// What it may depend on: MonitorModel, MonitorSystem (the log throttle), MonitorConfig, GatewayConfig,
// DaemonKit, GatewayStore, CSnappy, SwiftProtobuf, NIOCore, NIOPosix, NIOHTTP1, NIOSSL and swift-log. Only `monitord` links it: swift-protobuf
// brings full Foundation, which the agent must not carry.
