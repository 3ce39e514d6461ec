// AgentKit: everything `monitor-agent` runs.
//
// What it holds: the /proc collectors, the sampler, the in-memory sample buffer, the uplink to
// the gateways (failover, replay, acknowledgements) and `AgentService`, which ties them to the
// spool and to systemd.
//
// What it may depend on: the layers below (MonitorModel, MonitorProtocol, MonitorSystem,
// MonitorConfig, AgentSpool, DaemonKit), NIOCore, NIOPosix, NIOSSL, swift-log and
// swift-service-lifecycle. Never on GatewayKit, NIOHTTP1 or remote write: the agent links only this.
