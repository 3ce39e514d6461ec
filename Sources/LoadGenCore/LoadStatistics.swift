import Synchronization

/// Counters shared by every simulated agent on every event loop.
///
/// Counters are atomics so that the hot path (one increment per sample) takes no lock; latencies
/// are kept per agent and merged here under a lock only when the agent's connection closes.
public final class LoadStatistics: Sendable {
    let connected = Atomic<Int>(0)
    let connectFailures = Atomic<Int>(0)
    let unexpectedCloses = Atomic<Int>(0)
    let samplesSent = Atomic<Int>(0)
    let samplesAcknowledged = Atomic<Int>(0)
    let errors = Atomic<Int>(0)
    /// Set while the measurement window is open: latencies are recorded only then.
    let measuring = Atomic<Bool>(false)
    /// Set when agents must stop sending (the drain phase and the end of the run).
    let stopping = Atomic<Bool>(false)
    private let merged = Mutex<Merged>(Merged())

    private struct Merged {
        var latencies: [UInt32] = []
        var errorReasons: [String: Int] = [:]
    }

    public init() {}

    func recordError(_ reason: String) {
        errors.add(1, ordering: .relaxed)
        merged.withLock { merged in
            // Keep the set of distinct reasons small even if every agent fails differently.
            if merged.errorReasons[reason] != nil || merged.errorReasons.count < 20 {
                merged.errorReasons[reason, default: 0] += 1
            }
        }
    }

    func merge(latencies: [UInt32]) {
        guard !latencies.isEmpty else { return }
        merged.withLock { $0.latencies.append(contentsOf: latencies) }
    }

    /// Takes the merged latencies (leaving none) and the error reasons seen.
    func takeLatenciesAndReasons() -> ([UInt32], [String: Int]) {
        merged.withLock { merged in
            let result = (merged.latencies, merged.errorReasons)
            merged.latencies = []
            return result
        }
    }
}
