public import MonitorSystem

/// The system-wide CPU time counters of the aggregate `cpu` line of `/proc/stat`, in clock ticks.
///
/// Columns that an older kernel does not have (steal before 2.6.11, guest before 2.6.24, guest_nice
/// before 3.2) are 0, which is what psutil's computation assumes for them too.
public struct CPUTimes: Sendable, Equatable {
    public var user: UInt64
    public var nice: UInt64
    public var system: UInt64
    public var idle: UInt64
    public var iowait: UInt64
    public var irq: UInt64
    public var softirq: UInt64
    public var steal: UInt64
    /// Time running guests; the kernel already counts it in `user`.
    public var guest: UInt64
    /// Time running niced guests; the kernel already counts it in `nice`.
    public var guestNice: UInt64

    public init(
        user: UInt64 = 0, nice: UInt64 = 0, system: UInt64 = 0, idle: UInt64 = 0, iowait: UInt64 = 0,
        irq: UInt64 = 0, softirq: UInt64 = 0, steal: UInt64 = 0, guest: UInt64 = 0, guestNice: UInt64 = 0
    ) {
        self.user = user
        self.nice = nice
        self.system = system
        self.idle = idle
        self.iowait = iowait
        self.irq = irq
        self.softirq = softirq
        self.steal = steal
        self.guest = guest
        self.guestNice = guestNice
    }

    /// Reads the first line whose first word is `cpu`. At least the four columns of Linux 2.4 are required;
    /// columns beyond the ten known ones are ignored, as psutil does.
    public static func parse(procStat: String) throws(ProcFileError) -> CPUTimes {
        try ProcText.withBytes(of: procStat) { text throws(ProcFileError) in try parse(procStat: text) }
    }

    static func parse(procStat text: ProcText) throws(ProcFileError) -> CPUTimes {
        guard var line = text.line(named: "cpu") else {
            throw ProcFileError(file: "/proc/stat", message: "no aggregate \"cpu\" line")
        }
        var columns = 0
        // The next column, or 0 past the line's end or the ten known columns.
        func next() throws(ProcFileError) -> UInt64 {
            guard columns < 10, let word = line.nextWord() else { return 0 }
            guard let value = ProcText.decimal(word) else {
                throw ProcFileError(
                    file: "/proc/stat", message: "\"cpu\" line has a bad value \(ProcText.text(word).quoted)")
            }
            columns += 1
            return value
        }
        // Arguments are evaluated left to right: the kernel's column order.
        let times = CPUTimes(
            user: try next(), nice: try next(), system: try next(), idle: try next(), iowait: try next(),
            irq: try next(), softirq: try next(), steal: try next(), guest: try next(), guestNice: try next())
        guard columns >= 4 else {
            throw ProcFileError(
                file: "/proc/stat", message: "\"cpu\" line has \(columns) columns, expected at least 4")
        }
        return times
    }

    /// The columns in the kernel's order.
    var fields: [UInt64] { (0..<10).map { self[column: $0] } }

    /// One column, in the kernel's order.
    private subscript(column index: Int) -> UInt64 {
        switch index {
        case 0: user
        case 1: nice
        case 2: system
        case 3: idle
        case 4: iowait
        case 5: irq
        case 6: softirq
        case 7: steal
        case 8: guest
        default: guestNice
        }
    }

    /// CPU utilisation between `earlier` and now, in percent, with psutil's `cpu_percent(interval)`
    /// algorithm: per-column deltas (negative ones, from counters that went backwards, count as 0); the
    /// total is their sum minus guest and guest_nice (already inside user and nice); busy is the total minus
    /// idle and iowait. Clamped to 0...100 and rounded like Python's `round(x, 1)`; 0 when no tick elapsed.
    public func busyPercent(since earlier: CPUTimes) -> Double {
        var total = 0.0
        var deltas = (idle: 0.0, iowait: 0.0, guest: 0.0, guestNice: 0.0)
        for column in 0..<10 {
            let now = self[column: column]
            let then = earlier[column: column]
            let delta = now >= then ? Double(now - then) : 0
            total += delta
            switch column {
            case 3: deltas.idle = delta
            case 4: deltas.iowait = delta
            case 8: deltas.guest = delta
            case 9: deltas.guestNice = delta
            default: break
            }
        }
        total = total - deltas.guest - deltas.guestNice
        let busy = total - deltas.idle - deltas.iowait
        guard total > 0 else { return 0 }
        return min(max(busy / total * 100, 0), 100).roundedToOneDecimal
    }
}
