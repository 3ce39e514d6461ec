import GatewayStore
import GatewayWAL
import Logging
import MonitorSystem
import NIOPosix
import Synchronization

/// The write-ahead log as remote write reads it: the log's records, and
/// the position file (``ForwardingPosition``) that says how far the receiver confirmed. The glue
/// between GatewayWAL and GatewayStore's ``ForwardingLog``, so that neither the log nor remote
/// write knows the other.
///
/// The position is written on a thread of NIOPosix's pool, not by the sender: the two fsyncs of a
/// durable replace took 5 to 50 ms per request on the loaded development machine, as long as the
/// request itself. The sender goes on with the next request meanwhile; positions confirmed while
/// one is being written are coalesced into the newest. A kill then re-sends the request in flight
/// and at most the one whose position was being written.
final class LogForwarding: ForwardingLog {
    let confirmed: UInt64
    let newestForwarded: [String: Double]
    private let wal: WriteAheadLog
    private let directory: String

    private struct Persisting {
        /// The newest position confirmed and not yet being written.
        var wanted: UInt64?
        var writing = false
        /// The last write's failure, reported by the next ``confirm(upTo:)``.
        var failure: FileOperationError?
    }

    private let persisting = Mutex(Persisting())
    private let positionStore = Mutex<(@Sendable (UInt64) throws(FileOperationError) -> Void)?>(nil)

    /// Writes each position instead of ``ForwardingPosition/store(_:lossesNonce:directory:)``
    /// alone: the records passed over must be named on disk first, and the position names that
    /// file (``PassedOverRecords``). A throw keeps the position where it is on disk.
    var storePosition: (@Sendable (UInt64) throws(FileOperationError) -> Void)? {
        get { positionStore.withLock { $0 } }
        set { positionStore.withLock { $0 = newValue } }
    }
    private let confirmedObserver = Mutex<(@Sendable (UInt64) -> Void)?>(nil)

    /// Told every confirmed position as soon as the receiver answered, before it is on disk
    /// (`acknowledge = forwarded`: the receiver holds the samples, whatever becomes of the gateway).
    var onConfirmed: (@Sendable (UInt64) -> Void)? {
        get { confirmedObserver.withLock { $0 } }
        set { confirmedObserver.withLock { $0 = newValue } }
    }

    /// Loads the position in the log's directory. A position that cannot be read is reported and
    /// taken as 0 (everything in the log is forwarded again: duplicates rather than losses); one
    /// beyond the log's last record (records a power cut took, whose numbers a new record now
    /// takes) is reported and brought back to the last record, so that no new record is skipped.
    /// - Parameter newestForwarded: what the log's recovery found of the records up to the position.
    init(wal: WriteAheadLog, newestForwarded: [String: Double] = [:], logger: Logger) {
        self.wal = wal
        self.newestForwarded = newestForwarded
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
        try wal.records(after: number, limit: limit)
    }

    /// Has the position written (see the type's comment); throws the previous write's failure, if
    /// it failed, so that the writer logs it.
    func confirm(upTo number: UInt64) throws {
        onConfirmed?(number)
        let (start, failure) = persisting.withLock { persisting -> (Bool, FileOperationError?) in
            persisting.wanted = max(persisting.wanted ?? 0, number)
            let start = !persisting.writing
            persisting.writing = true
            return (start, persisting.failure)
        }
        if start { NIOThreadPool.singleton.submit { [self] _ in writeRounds() } }
        if let failure { throw failure }
    }

    private func writeRounds() {
        while true {
            let next = persisting.withLock { persisting -> UInt64? in
                guard let wanted = persisting.wanted else {
                    persisting.writing = false
                    return nil
                }
                persisting.wanted = nil
                return wanted
            }
            guard let next else { return }
            do throws(FileOperationError) {
                try wal.verifyDirectory()
                if let storePosition {
                    try storePosition(next)
                } else {
                    try ForwardingPosition.store(next, directory: directory)
                }
                persisting.withLock { $0.failure = nil }
            } catch {
                persisting.withLock { $0.failure = error }
            }
        }
    }

    /// Waits (at most `limit`) until the last confirmed position is on disk: the end of a clean stop.
    func flush(limit: Duration = .seconds(5)) async {
        let end = ContinuousClock.now + limit
        while persisting.withLock({ $0.writing }), ContinuousClock.now < end {
            try? await Task.sleep(for: .milliseconds(5))
        }
    }
}
