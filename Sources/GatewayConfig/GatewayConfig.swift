// GatewayConfig: what the operator writes for `monitord`, apart from what the agent reads too.
//
// What it holds: `monitord.conf`'s `[monitord]` and `[remote-write]` sections, the remote-write
// url, the acknowledge modes and the gateway's tokens file. Kept out of MonitorConfig so that
// `monitor-agent`, which links MonitorConfig, carries none of the gateway's configuration.
//
// What it may depend on: MonitorModel, MonitorSystem and MonitorConfig (the INI parser and the key
// table). No NIO: the fuzzers compile it alone, and `--check-config` needs nothing else.
