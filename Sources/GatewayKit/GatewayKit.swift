// GatewayKit: everything `monitord` runs except remote write.
//
// What it holds: the agent store, the agent port (listener, TLS sniffing, peer sessions, limits),
// the HTTP port (`/metrics`, the status page, `/api/v1/agents`), the Prometheus exposition and
// `GatewayService`, which ties them together. `SampleForwarder` is the seam remote write plugs into.
//
// What it may depend on: the layers below (MonitorModel, MonitorProtocol, MonitorSystem,
// MonitorConfig, DaemonKit), NIOCore, NIOPosix, NIOHTTP1, NIOSSL, swift-log and
// swift-service-lifecycle. Never on AgentKit, nor on remote write (which depends on it).
