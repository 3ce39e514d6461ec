// AgentSpool: the agent's crash-safe disk buffer of samples not yet acknowledged.
//
// What it holds: the segment file format with its checksums, the reader that finds the intact
// prefix of a damaged file, the acknowledgement watermark and `SampleSpool`, which keeps them.
//
// What it may depend on: MonitorModel, MonitorSystem, MonitorConfig (the fsync policy) and
// swift-log. No NIO: the spool fuzzer compiles it alone.
