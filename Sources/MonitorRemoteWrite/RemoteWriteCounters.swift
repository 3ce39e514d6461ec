import MonitorModel
import Synchronization

/// The writer's own counters, readable from any thread for `/metrics`. All counts are remote-write
/// samples (four per agent sample), as the metric names say.
final class RemoteWriteCounters: Sendable {
    private let sent = Atomic<UInt64>(0)
    private let retried = Atomic<UInt64>(0)
    /// By reason, except queue overflow (counted by the queue itself, under the writer's lock).
    /// Drops are rare events, a lock is cheap enough.
    private let dropped = Mutex<[DropReason: UInt64]>([:])
    /// Bit pattern of a `Double` (Unix seconds); 0 means never.
    private let lastSuccessBits = Atomic<UInt64>(0)

    func addSent(_ count: Int, at time: Double) {
        sent.wrappingAdd(UInt64(count), ordering: .relaxed)
        lastSuccessBits.store(time.bitPattern, ordering: .relaxed)
    }

    func addRetried(_ count: Int) { retried.wrappingAdd(UInt64(count), ordering: .relaxed) }
    func addDropped(_ count: Int, reason: DropReason) {
        dropped.withLock { $0[reason, default: 0] &+= UInt64(count) }
    }

    var samplesSent: UInt64 { sent.load(ordering: .relaxed) }
    var samplesRetried: UInt64 { retried.load(ordering: .relaxed) }
    func samplesDropped(_ reason: DropReason) -> UInt64 { dropped.withLock { $0[reason] ?? 0 } }
    /// Refused by the receiver or out of order: `monitord_remote_write_samples_failed_total`, kept
    /// under its name from before the drops were counted by reason.
    var samplesFailed: UInt64 { samplesDropped(.refused) &+ samplesDropped(.outOfOrder) }
    var lastSuccess: Double { Double(bitPattern: lastSuccessBits.load(ordering: .relaxed)) }

    /// The self-metrics of remote write, given the queue's own figures.
    func families(queuedSamples: Int, droppedByQueue: UInt64, oldestUnforwardedAge: Double) -> [MetricFamily] {
        let drops = dropped.withLock { $0 }
        return [
            MetricFamily(
                name: "monitord_remote_write_samples_sent_total",
                help: "Samples the remote-write receiver accepted (2xx).",
                type: .counter, samples: [MetricSample(Double(samplesSent))]),
            MetricFamily(
                name: "monitord_remote_write_samples_failed_total",
                help:
                    "Samples given up: refused by the receiver (a 4xx about the samples, such as 400), or out of order for their series.",
                type: .counter, samples: [MetricSample(Double(samplesFailed))]),
            MetricFamily(
                name: "monitord_remote_write_samples_retried_total",
                help: "Samples sent again after a 5xx, a 408, 425 or 429, or a network error (once per retry).",
                type: .counter, samples: [MetricSample(Double(samplesRetried))]),
            MetricFamily(
                name: "monitord_remote_write_samples_dropped_total",
                help:
                    "Samples that will never reach the receiver, by reason: refused (a 4xx for a request holding only them), too_old (max-sample-age), out_of_order, queue_full, shutdown, wal_full (deleted by wal-max-size unforwarded).",
                type: .counter,
                samples: DropReason.allCases.map { reason in
                    let count = reason == .queueFull ? droppedByQueue : drops[reason] ?? 0
                    return MetricSample(Double(count), labels: ["reason": reason.rawValue])
                }),
            MetricFamily(
                name: "monitord_remote_write_queue_length",
                help:
                    "Samples accepted and not yet delivered: in the queue, unread in the write-ahead log, or in the batch being sent.",
                type: .gauge, samples: [MetricSample(Double(queuedSamples))]),
            MetricFamily(
                name: "monitord_remote_write_oldest_unforwarded_age_seconds",
                help:
                    "Seconds since the oldest sample accepted and not yet delivered (queued or being sent) arrived; 0 when none waits.",
                type: .gauge, samples: [MetricSample(oldestUnforwardedAge)]),
            MetricFamily(
                name: "monitord_remote_write_last_success_timestamp_seconds",
                help: "Unix time of the last request the receiver accepted; 0 before the first.",
                type: .gauge, samples: [MetricSample(lastSuccess)]),
        ]
    }
}
