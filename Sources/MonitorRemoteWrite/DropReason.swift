/// Why a sample never reached the receiver: the `reason` label of
/// `monitord_remote_write_samples_dropped_total`, and the words of its log line.
enum DropReason: String, CaseIterable, Sendable {
    /// The receiver refused it (a 4xx about the samples, such as 400) even in a request small enough to single it out.
    case refused
    /// Older than `max-sample-age`: dropped before sending, as the receiver would refuse it.
    case tooOld = "too_old"
    /// Not newer than its series' last forwarded sample (an agent's clock stepped back).
    case outOfOrder = "out_of_order"
    /// Pushed out of the full queue by newer samples.
    case queueFull = "queue_full"
    /// Still undelivered when monitord stopped (samples in the write-ahead log are not: the next
    /// start forwards them).
    case shutdown
    /// Deleted from the write-ahead log by `wal-max-size` before they were read for forwarding.
    case walFull = "wal_full"

    /// What the log line says of samples dropped for this reason.
    var explanation: String {
        switch self {
        case .refused: "refused by the receiver"
        case .tooOld: "older than max-sample-age"
        case .outOfOrder: "not newer than their agent's last forwarded sample"
        case .queueFull: "pushed out of the full queue"
        case .shutdown: "not delivered before stopping"
        case .walFull: "deleted from the write-ahead log by wal-max-size before they were forwarded"
        }
    }
}
