public import MonitorModel

extension WriteAheadLog {
    /// The log's self-metrics for `/metrics`: its size, what the bound cost, and what fsync costs
    /// (the mean fsync time is `fsync_seconds_total / fsyncs_total`).
    public func families() -> [MetricFamily] {
        let statistics = self.statistics
        return [
            MetricFamily(
                name: "monitord_wal_bytes", help: "Bytes in the write-ahead log's segments.", type: .gauge,
                samples: [MetricSample(Double(statistics.bytes))]),
            MetricFamily(
                name: "monitord_wal_segments", help: "Segment files of the write-ahead log.", type: .gauge,
                samples: [MetricSample(Double(statistics.segments))]),
            MetricFamily(
                name: "monitord_wal_records_appended_total",
                help: "Samples written to the write-ahead log since monitord started.", type: .counter,
                samples: [MetricSample(Double(statistics.appendedRecords))]),
            MetricFamily(
                name: "monitord_wal_records_dropped_total",
                help: "Samples deleted from the write-ahead log to stay within wal-max-size.", type: .counter,
                samples: [MetricSample(Double(statistics.droppedRecords))]),
            MetricFamily(
                name: "monitord_wal_fsyncs_total", help: "Group commits (fsyncs) of the write-ahead log.",
                type: .counter, samples: [MetricSample(Double(statistics.fsyncs))]),
            MetricFamily(
                name: "monitord_wal_fsync_seconds_total", help: "Time spent in the write-ahead log's fsyncs.",
                type: .counter, samples: [MetricSample(statistics.fsyncSeconds)]),
        ]
    }
}
