// DaemonKit: what both daemons are made of besides their own work.
//
// What it holds: the launcher both `main`s run (configuration, `--check-config`, logging,
// signals, exit codes), the control both daemons answer to (`DaemonControl`: SIGHUP's
// reload-or-refuse, the watchdog's round trip, stop), reconnect `Backoff`, the agent's TLS context and the PEM loading that the gateway's and
// remote write's contexts share (they extend `TLSContexts` in GatewayKit and MonitorRemoteWrite,
// so the agent links neither), and the NIO pieces the pipelines share: the framing decoder that
// turns a connection's bytes into messages, and closing idle connections.
//
// What it may depend on: CStartupSignals, MonitorProtocol, MonitorSystem, MonitorConfig, NIOCore,
// NIOSSL and swift-log. Not on swift-service-lifecycle, which only monitord uses (the agent links
// this module and must not carry it). Never on AgentKit or GatewayKit, which build on
// it, nor on swift-argument-parser, which brings FoundationEssentials: monitord's options live
// in its own target (DaemonOptions.swift), the agent parses its five by hand.
