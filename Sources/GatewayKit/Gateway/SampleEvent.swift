/// Why the gateway did not keep a sample as it was sent: `monitord_samples_dropped_total{reason}`
/// and `monitord_sample_timestamps_clamped_total`, each also logged (throttled).
public enum SampleEvent: Hashable, Sendable {
    case dropped(SampleDropReason)
    /// The sample's `ts` was beyond now + `clock-skew-tolerance`; it was kept with the time of arrival.
    case clampedTimestamp
}

/// The `reason` label of `monitord_samples_dropped_total`.
public enum SampleDropReason: String, Hashable, Sendable, CaseIterable {
    /// A resend of a sample already held (after a lost ack, or a replay): acknowledged again, not stored twice.
    case duplicate
    /// Sent on a connection the agent had replaced with a newer one: not kept, not acknowledged, and the
    /// connection is closed.
    case superseded
}
