// GatewayWAL: the gateway's write-ahead log, what makes `acknowledge = durable` true.
//
// What it holds: ``WriteAheadLog``, which opens (through GatewayWALFiles' recovery), appends,
// group-commits, bounds and checkpoints the segments, and the forwarding position file.
//
// What it may depend on: GatewayWALFiles (the segment format, readers and recovery),
// GatewayStore (``WALRecord``, the record it holds, which the store replays and remote write
// reads, and ``LogCheckpoint``), MonitorModel (samples, agent names), MonitorSystem (the file
// operations it shares with the agent's spool), swift-log, and NIOPosix for the one thread on
// which fsync runs. Not GatewayKit: the gateway plugs the log in, not the reverse.
