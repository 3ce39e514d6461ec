import GatewayStore
import GatewayWAL
import Logging
import MonitorSystem

/// The write-ahead log as remote write reads it: the log's records as plain numbered samples, and
/// the position file (``ForwardingPosition``) that says how far the receiver confirmed. The glue
/// between GatewayWAL and GatewayStore's ``ForwardingLog``, so that neither the log nor remote
/// write knows the other.
final class LogForwarding: ForwardingLog {
    let confirmed: UInt64
    private let wal: WriteAheadLog
    private let directory: String

    /// Loads the position in the log's directory. A position that cannot be read is reported and
    /// taken as 0 (everything in the log is forwarded again: duplicates rather than losses); one
    /// beyond the log's last record (records a power cut took, whose numbers a new record now
    /// takes) is reported and brought back to the last record, so that no new record is skipped.
    init(wal: WriteAheadLog, logger: Logger) {
        self.wal = wal
        self.directory = wal.directory
        let loaded = ForwardingPosition.load(directory: wal.directory)
        if let problem = loaded.problem {
            logger.error(
                "remote write: forwarding position unusable (\(problem)); forwarding everything in the write-ahead log again"
            )
        }
        let last = wal.lastAppended
        if loaded.number > last {
            logger.warning(
                "remote write: forwarding position \(loaded.number) is past the write-ahead log's last record \(last) (records lost to a power cut?); forwarding from \(last + 1)"
            )
        }
        self.confirmed = min(loaded.number, last)
    }

    var lastAppended: UInt64 { wal.lastAppended }

    func read(after number: UInt64, limit: Int) throws -> LoggedSamples {
        let read = try wal.records(after: number, limit: limit)
        return LoggedSamples(
            samples: read.records.map {
                LoggedSample(
                    number: $0.number, agent: $0.record.agent, arrival: $0.record.arrival, sample: $0.record.sample)
            },
            through: read.through)
    }

    func confirm(upTo number: UInt64) throws {
        try ForwardingPosition.store(number, directory: directory)
    }
}
