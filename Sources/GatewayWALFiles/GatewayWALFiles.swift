// GatewayWALFiles: the gateway's write-ahead log on disk, without threads.
//
// What it holds: the segment format with its checkpoint (``WALFormat``), the total reader that
// finds the intact prefix of a damaged segment (``WALSegmentReader``), the reader remote write
// forwards with (``WALTailReader``), and the recovery that opens a log directory
// (``WALRecovery``). Apart from GatewayWAL's appending and fsync thread so that recovery is
// fuzzed as it runs (scripts/fuzz.sh builds only layers without NIO).
//
// What it may depend on: GatewayStore (``WALRecord`` and ``LogCheckpoint``), MonitorModel,
// MonitorSystem (the record framing, CRC-32C and file operations shared with the agent's spool)
// and swift-log. Not NIO.
import GatewayStore
import MonitorModel
import MonitorSystem
