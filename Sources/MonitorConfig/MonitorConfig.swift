// MonitorConfig: what the operator writes, read strictly and reported by file and line.
//
// What it holds: the INI parser, the typed configurations of the agent, the gateway and its
// remote-write section, the values they are made of (host:port, durations, sizes, the spool's
// fsync policy), and the gateway's tokens file.
//
// What it may depend on: MonitorModel and MonitorSystem (to read the files). No NIO: the fuzzers
// compile it alone, and `--check-config` needs nothing else.
