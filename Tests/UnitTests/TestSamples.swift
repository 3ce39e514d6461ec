import MonitorModel
import MonitorProtocol

// The samples the unit tests make, in one place (TestSupport cannot: it imports nothing of the product).

/// A sample whose values encode its sequence, so a test can tell which sample it holds (the store's
/// latest, the buffer's oldest, a forwarded batch): RAM `value` (by default the sequence itself),
/// interrupts `interrupts` (by default 1000 + the sequence).
func makeSample(
    _ sequence: UInt64, at timestamp: Double? = nil, value: Double? = nil, interrupts: UInt64? = nil
) -> Sample {
    Sample(
        sequence: sequence, timestamp: timestamp, ramUsagePercent: value ?? Double(sequence), cpuUsagePercent: 2.5,
        processRAMGigabytes: 0.25, cpuInterrupts: interrupts ?? 1000 + sequence)
}

/// A native agent's sample line, as a connection receives it: ``makeSample(_:at:value:interrupts:)``
/// with a RAM value the protocol accepts whatever the sequence, taken at `timestamp` (by default one
/// second per sequence number after 2023-11-14).
func sampleLine(_ sequence: UInt64, at timestamp: Double? = nil) -> [UInt8] {
    ProtocolCodec.encode(
        AgentMessage.sample(makeSample(sequence, at: timestamp ?? 1_700_000_000 + Double(sequence), value: 50)))
}
