// GatewayWAL: the gateway's write-ahead log, what makes `acknowledge = durable` true.
//
// What it holds: the log's segment format (``WALFormat``), the total reader that finds the intact
// prefix of a damaged segment (``WALSegmentReader``), and ``WriteAheadLog``, which appends,
// group-commits, bounds and recovers the segments.
//
// What it may depend on: GatewayStore (``WALRecord``, the record it holds, which the store replays
// and remote write reads), MonitorModel (samples, agent names), MonitorSystem (the record framing,
// CRC-32C and the file operations it shares with the agent's spool), swift-log, and NIOPosix for
// the one thread on which fsync runs. Not GatewayKit: the gateway plugs the log in, not the reverse.
