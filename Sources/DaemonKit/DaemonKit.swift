// DaemonKit: what both daemons are made of besides their own work.
//
// What it holds: the launcher and the command-line options shared by both `main`s
// (configuration, `--check-config`, logging, signals, exit codes), the TLS contexts built from
// the configurations, and the NIO pieces the pipelines share: the framing decoder that turns a
// connection's bytes into messages, and closing idle connections.
//
// What it may depend on: MonitorModel, MonitorProtocol, MonitorSystem, MonitorConfig, NIOCore,
// NIOSSL, swift-log, swift-service-lifecycle and swift-argument-parser. Never on AgentKit or
// GatewayKit, which build on it.
