import GatewayWAL
import Logging
import MonitorSystem
import Synchronization

/// The records remote write passed over unread, as `remote-write.lost` holds them
/// (``ForwardingLosses``), whether the file says so yet, and the forwarding position's writes,
/// which name the file they follow (its nonce, new at each write: audit 19, B).
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
        /// The nonce of the file on disk (0: none written by this run yet).
        var nonce: UInt64 = 0
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

    /// Writes the forwarding position `number`, bound to the file on disk, after writing the file
    /// if it does not hold every range yet; throws (writing no position) while it cannot. Under
    /// the lock that a loss's write takes too, so that the position on disk always names the file
    /// beside it.
    func storePosition(_ number: UInt64) throws(FileOperationError) {
        try state.withLock { (state) throws(FileOperationError) in
            if !state.stored {
                try write(&state)
                logger.notice(
                    "remote write: the records passed over are recorded again; the forwarding position moves on")
            }
            try ForwardingPosition.store(number, lossesNonce: state.nonce, directory: directory)
        }
    }

    /// Writes the file; a failure is logged and leaves it to be written again.
    func storeNow() {
        state.withLock { store(&$0) }
    }

    private func store(_ state: inout State) {
        do throws(FileOperationError) {
            try write(&state)
        } catch {
            logger.error(
                "remote write: cannot record the records passed over: \(error); the forwarding position is not written until this clears"
            )
        }
    }

    /// Writes the file under a new nonce; the state says so only once it is on disk.
    private func write(_ state: inout State) throws(FileOperationError) {
        let nonce = Self.newNonce()
        try ForwardingLosses.store(state.ranges, nonce: nonce, directory: directory)
        (state.stored, state.nonce) = (true, nonce)
    }

    /// Never 0 (which names no file).
    private static func newNonce() -> UInt64 { UInt64.random(in: 1...UInt64.max) }
}
