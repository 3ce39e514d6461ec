import MonitorSystem

/// The fields of `/proc/self/stat` (see proc(5)) that the `process_*` families need.
struct ProcessStat: Hashable {
    var userTicks: UInt64
    var systemTicks: UInt64
    var startTicks: UInt64
    var virtualBytes: UInt64
    var residentPages: UInt64

    /// Parses the line; the command name in parentheses may itself contain spaces and `)`, so fields are counted
    /// from the last `)`.
    init?(parsing bytes: [UInt8]) {
        guard let close = bytes.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        // After ")": field 3 (state) onwards; field n is at index n - 3.
        let fields = bytes[(close + 1)...].split(whereSeparator: { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\n") }
        )
        func field(_ number: Int) -> UInt64? {
            let index = number - 3
            guard fields.indices.contains(index) else { return nil }
            return ASCIIDecimal.parse(fields[index])
        }
        guard let userTicks = field(14), let systemTicks = field(15), let startTicks = field(22),
            let virtualBytes = field(23), let residentPages = field(24)
        else { return nil }
        self.userTicks = userTicks
        self.systemTicks = systemTicks
        self.startTicks = startTicks
        self.virtualBytes = virtualBytes
        self.residentPages = residentPages
    }

    /// The `btime` line of `/proc/stat`: boot time in Unix seconds, which process start ticks are relative to.
    /// Scanned like the agent's `cpu` and `intr` lines (``ProcText``).
    static func bootTime(inSystemStat bytes: [UInt8]) -> UInt64? {
        bytes.withUnsafeBytes { raw in
            guard var line = ProcText(raw).line(named: "btime"), let word = line.nextWord() else { return nil }
            return ProcText.decimal(word)
        }
    }
}
