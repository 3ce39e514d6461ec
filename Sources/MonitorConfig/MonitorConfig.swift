// MonitorConfig: what the operator writes, read strictly and reported by file and line.
//
// What it holds: the INI parser, the key table each configuration section is declared with, the
// agent's configuration, and the values both daemons' configurations are made of (host:port,
// durations, sizes, TLS identity files, the spool's fsync policy). The gateway's own sections
// are GatewayConfig's, which builds on this module; the agent links this one alone.
//
// What it may depend on: MonitorModel and MonitorSystem (to read the files). No NIO: the fuzzers
// compile it alone, and `--check-config` needs nothing else.
