import GatewayWAL
import Logging
import MonitorSystem
import Synchronization

/// The records remote write passed over unread, as `remote-write.lost` holds them
/// (``ForwardingLosses``), and whether the file says so yet.
///
/// The forwarding position must never pass records on disk before the file names them: a restart
/// would take them as sent, and the agents' resends of their samples would be dropped and
/// acknowledged. So a failed write (a full disk, an I/O error, something in the way of the
/// temporary file) holds every later position back until a retry succeeds (audit 19, A: the
/// position went on after a failed write, and a restart lost 2,075-3,586 acknowledged samples).
final class PassedOverRecords: Sendable {
    private struct State {
        var ranges: [ClosedRange<UInt64>]
        var stored = false
    }

    private let state: Mutex<State>
    private let directory: String
    private let logger: Logger

    init(_ ranges: [ClosedRange<UInt64>], directory: String, logger: Logger) {
        self.state = Mutex(State(ranges: ranges))
        self.directory = directory
        self.logger = logger
    }

    /// Names `records` too, on disk before this returns if it can.
    func add(_ records: ClosedRange<UInt64>) {
        state.withLock { state in
            state.ranges = ForwardingLosses.adding(records, to: state.ranges)
            state.stored = false
            store(&state)
        }
    }

    /// Writes the file unless it already holds every range; throws while it cannot, so that the
    /// caller (the position's writer) writes nothing beyond it.
    func storeIfNeeded() throws(FileOperationError) {
        try state.withLock { (state) throws(FileOperationError) in
            guard !state.stored else { return }
            try ForwardingLosses.store(state.ranges, directory: directory)
            state.stored = true
            logger.notice("remote write: the records passed over are recorded again; the forwarding position moves on")
        }
    }

    /// Writes the file; a failure is logged and leaves it to be written again.
    func storeNow() {
        state.withLock { store(&$0) }
    }

    private func store(_ state: inout State) {
        do throws(FileOperationError) {
            try ForwardingLosses.store(state.ranges, directory: directory)
            state.stored = true
        } catch {
            logger.error(
                "remote write: cannot record the records passed over: \(error); the forwarding position is not written until this clears"
            )
        }
    }
}
