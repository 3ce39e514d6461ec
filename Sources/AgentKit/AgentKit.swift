// AgentKit: everything `monitor-agent` runs.
//
// What it holds: the /proc collectors (parsers over MonitorSystem's reader), the sampler, the in-memory sample buffer, the uplink to
// the gateways (failover, replay, acknowledgements) and `AgentService`, which ties them to the
// spool and to systemd.
//
// What it may depend on: the layers below (MonitorModel, MonitorProtocol, MonitorSystem,
// MonitorConfig, AgentSpool, DaemonKit), NIOCore, NIOPosix, NIOSSL and swift-log. Never on
// the Gateway modules, NIOHTTP1, remote write or swift-service-lifecycle (its Dispatch-based signals and
// async-algorithms cost the agent memory and wake-ups; SignalPipe does the agent's signals): the
// agent links only this.
