import MonitorModel
import MonitorProtocol

/// The bytes a simulated agent writes: the same messages `monitor-agent` and the report's agent
/// send, with plausible values that change from sample to sample (the interrupt count grows).
enum SampleMessages {
    static func hello(agent: String, session: String) -> [UInt8] {
        ProtocolCodec.encode(
            .hello(Hello(agent: agent, agentVersion: "loadgen-\(MonitorVersion.current)", session: session)))
    }

    /// One native sample line, encoded by the product's own codec.
    static func native(sequence: UInt64, timestamp: Double) -> [UInt8] {
        ProtocolCodec.encode(
            .sample(
                Sample(
                    sequence: sequence,
                    timestamp: timestamp,
                    ramUsagePercent: 58.4,
                    cpuUsagePercent: 2.8,
                    processRAMGigabytes: 0.00927734375,
                    cpuInterrupts: 706_148 + sequence * 250
                )))
    }

    /// One object in the report's format, spelled as Python's `json.dumps` spells it, with no
    /// delimiter (SPEC §1).
    static func reportFormat(count: UInt64) -> [UInt8] {
        let interrupts = 706_148 + count * 250
        return Array(
            "{\"currentProccessRAM: \": 0.00927734375, \"RAM usage: \": 58.4, \"CPU usage: \": 2.8, \"CPU interrupts: \": \(interrupts)}"
                .utf8)
    }
}
