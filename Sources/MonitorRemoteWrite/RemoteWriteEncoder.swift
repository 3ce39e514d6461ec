import MonitorModel
import SwiftProtobuf

/// Turns a batch of agent samples into the body of one remote-write 1.0 request.
///
/// Each agent sample gives one sample in each of the four report families, named and labelled as on
/// `/metrics` (`agent_number`), plus the configured external labels; labels are sorted by name, as the
/// protocol requires. The samples of one series are consecutive and in the order received.
struct RemoteWriteEncoder: Sendable {
    let externalLabels: [MetricLabel]

    init(externalLabels: [MetricLabel]) {
        self.externalLabels = externalLabels
    }

    /// The protobuf message for `batch`, agents in order of first appearance.
    func request(for batch: [PendingSample]) -> Prometheus_WriteRequest {
        var order: [String] = []
        var byAgent: [String: [PendingSample]] = [:]
        for entry in batch {
            if byAgent[entry.agent] == nil { order.append(entry.agent) }
            byAgent[entry.agent, default: []].append(entry)
        }
        var request = Prometheus_WriteRequest()
        request.timeseries.reserveCapacity(order.count * ReportFamily.allCases.count)
        for agent in order {
            let entries = byAgent[agent] ?? []
            for family in ReportFamily.allCases {
                var series = Prometheus_TimeSeries()
                series.labels = labels(name: family.name, agent: agent)
                series.samples = entries.map { entry in
                    var sample = Prometheus_Sample()
                    sample.value = family.value(of: entry.sample)
                    sample.timestamp = entry.timestampMilliseconds
                    return sample
                }
                request.timeseries.append(series)
            }
        }
        return request
    }

    /// The snappy-compressed protobuf bytes of `request(for:)`: what goes on the wire.
    func body(for batch: [PendingSample]) -> [UInt8] {
        // Serialising a message with only scalars, strings and repeated messages cannot fail.
        let bytes: [UInt8] = (try? request(for: batch).serializedBytes()) ?? []
        return Snappy.compress(bytes)
    }

    private func labels(name: String, agent: String) -> [Prometheus_Label] {
        var labels = [
            MetricLabel(name: "__name__", value: name),
            MetricLabel(name: ReportFamily.agentLabel, value: agent),
        ]
        labels += externalLabels
        labels.sort { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
        return labels.map { label in
            var result = Prometheus_Label()
            result.name = label.name
            result.value = label.value
            return result
        }
    }
}

/// Keeps every forwarded series strictly increasing in time.
///
/// A remote-write receiver rejects a whole request (HTTP 400, nothing stored) when one of its samples is
/// older than, or as old as, what it already has for that series; one agent with a clock stepped back
/// would then take every other agent of the same batch down with it. Such samples are filtered here,
/// before they can poison a batch, and counted as failed.
struct SeriesOrderGuard {
    private var lastTimestamp: [String: Int64] = [:]
    private var lastPrune: Double = 0

    /// Entries older than this (seconds) are forgotten: receivers refuse samples that old anyway.
    static let memory: Double = 3 * 3600

    /// Takes `newest` (agent: timestamp in milliseconds) as already sent, unless newer was.
    mutating func seed(_ newest: [String: Int64]) {
        for (agent, timestamp) in newest where timestamp > lastTimestamp[agent, default: .min] {
            lastTimestamp[agent] = timestamp
        }
    }

    /// The entries of `batch` that move their agent's series forward, and how many were not.
    mutating func filter(_ batch: [PendingSample], now: Double) -> (kept: [PendingSample], rejected: Int) {
        if now - lastPrune > 600 {
            let horizon = Int64((now - Self.memory) * 1000)
            lastTimestamp = lastTimestamp.filter { $0.value >= horizon }
            lastPrune = now
        }
        var kept: [PendingSample] = []
        kept.reserveCapacity(batch.count)
        for entry in batch {
            if let last = lastTimestamp[entry.agent], entry.timestampMilliseconds <= last { continue }
            lastTimestamp[entry.agent] = entry.timestampMilliseconds
            kept.append(entry)
        }
        return (kept, batch.count - kept.count)
    }
}
