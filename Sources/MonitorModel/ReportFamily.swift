/// The report's four metric families (SPEC §1): their names, help texts and types verbatim, and
/// how each reads its value from a ``Sample``.
///
/// `/metrics` and remote write both take the families from here, in this order, so that the two
/// outputs cannot drift apart.
public enum ReportFamily: CaseIterable, Sendable {
    case ramUsagePercent
    case cpuUsagePercent
    case processRAMGigabytes
    case cpuInterrupts

    /// The label every per-agent series carries (SPEC: fixed by the report's dashboards).
    public static let agentLabel = "agent_number"

    public var name: String {
        switch self {
        case .ramUsagePercent: "process_ram_usage_percent"
        case .cpuUsagePercent: "process_cpu_usage_percent"
        case .processRAMGigabytes: "process_ram_gigabytes"
        case .cpuInterrupts: "process_cpu_interrupts_total"
        }
    }

    public var help: String {
        switch self {
        case .ramUsagePercent: "usage of my ram"
        case .cpuUsagePercent: "usage of my cpu in 4 seconds"
        case .processRAMGigabytes: "usage of my ram in current proccess"
        case .cpuInterrupts: "number of cpu interrupts since boot"
        }
    }

    public var type: MetricType {
        self == .cpuInterrupts ? .counter : .gauge
    }

    /// The family's value in `sample`; the interrupt count as a `Double` (exact below 2^53).
    public func value(of sample: Sample) -> Double {
        switch self {
        case .ramUsagePercent: sample.ramUsagePercent
        case .cpuUsagePercent: sample.cpuUsagePercent
        case .processRAMGigabytes: sample.processRAMGigabytes
        case .cpuInterrupts: Double(sample.cpuInterrupts)
        }
    }
}
