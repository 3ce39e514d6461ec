// AgentSpool: the agent's crash-safe disk buffer of samples not yet acknowledged.
//
// What it holds: the segment file format with its checksums, the reader that finds the intact
// prefix of a damaged file, the acknowledgement watermark and `SampleSpool`, which keeps them.
// The record framing, CRC-32C and the file operations are MonitorSystem's, shared with the
// gateway's write-ahead log (GatewayWAL).
//
// What it may depend on: MonitorModel, MonitorSystem, MonitorConfig (the fsync policy) and
// swift-log. No NIO: the spool fuzzer compiles it alone.
import MonitorModel
public import MonitorSystem

/// The spool's file errors are those of ``DurableFiles``, shared with the gateway's write-ahead log.
public typealias SpoolError = FileOperationError
