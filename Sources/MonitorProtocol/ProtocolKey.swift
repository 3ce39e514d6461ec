/// The top-level keys the protocol reads, in both dialects. Any other key is ignored, so that
/// newer peers can add fields without breaking older gateways.
enum ProtocolKey: Int, CaseIterable {
    case type, protocolVersion, agent, version, session, token
    case sequence, timestamp, ramPercent, cpuPercent, processRAMGigabytes, interrupts
    case lastSequence, reason
    case reportFormatRAM, reportFormatCPU, reportFormatProcessRAM, reportFormatInterrupts
    case keepalive

    /// The key as written in JSON.
    var name: String {
        switch self {
        case .type: "type"
        case .protocolVersion: "protocol"
        case .agent: "agent"
        case .version: "version"
        case .session: "session"
        case .token: "token"
        case .sequence: "seq"
        case .timestamp: "ts"
        case .ramPercent: "ram_percent"
        case .cpuPercent: "cpu_percent"
        case .processRAMGigabytes: "process_ram_gib"
        case .interrupts: "interrupts"
        case .lastSequence: "last_seq"
        case .reason: "reason"
        // The report's keys, trailing colon, space and misspelling included (SPEC §1).
        case .reportFormatRAM: "RAM usage: "
        case .reportFormatCPU: "CPU usage: "
        case .reportFormatProcessRAM: "currentProccessRAM: "
        case .reportFormatInterrupts: "CPU interrupts: "
        case .keepalive: "keepalive"
        }
    }

    /// The key for JSON text, as a quoted JSON string, for error reasons.
    var quoted: String { "\"\(name)\"" }

    static let reportFormatKeys: [ProtocolKey] = [
        .reportFormatRAM, .reportFormatCPU, .reportFormatProcessRAM, .reportFormatInterrupts,
    ]

    private static let utf8Names: [[UInt8]] = allCases.map { Array($0.name.utf8) }

    /// The key whose UTF-8 spelling is `bytes`, if the protocol knows it.
    init?(utf8 bytes: UnsafeBufferPointer<UInt8>) {
        for (rawValue, name) in Self.utf8Names.enumerated()
        where name.count == bytes.count && name.elementsEqual(bytes) {
            self.init(rawValue: rawValue)
            return
        }
        return nil
    }
}
