// GatewayKit: everything `monitord` runs except remote write and the web config file: the transport.
//
// What it holds: the agent port (listener, TLS sniffing, peer sessions, limits), the HTTP port
// (`/metrics`, the status page, `/api/v1/agents`, served from GatewayStore and GatewayStatus), the
// write-ahead log's replay into the store, and `GatewayService`, which ties them together.
// `HTTPPortGuard` is the seam the web config file plugs into.
//
// What it may depend on: the layers below (MonitorModel, MonitorProtocol, MonitorSystem,
// MonitorConfig, GatewayConfig, DaemonKit, GatewayWAL, GatewayStore, GatewayStatus), NIOCore,
// NIOPosix, NIOHTTP1, NIOHTTPCompression, NIOSSL, swift-log and swift-service-lifecycle (with its
// UnixSignals). Never on AgentKit, nor on remote write (which plugs into GatewayStore instead).
