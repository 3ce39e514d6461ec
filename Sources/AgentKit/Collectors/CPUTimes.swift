import MonitorConfig

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

    var fields: [UInt64] { [user, nice, system, idle, iowait, irq, softirq, steal, guest, guestNice] }

    /// Reads the first line whose first word is `cpu`. At least the four columns of Linux 2.4 are required;
    /// columns beyond the ten known ones are ignored, as psutil does.
    public static func parse(procStat: String) throws(CollectorError) -> CPUTimes {
        guard let words = procStatLine(named: "cpu", in: procStat) else {
            throw CollectorError(file: "/proc/stat", message: "no aggregate \"cpu\" line")
        }
        var values: [UInt64] = []
        for word in words.dropFirst().prefix(10) {
            guard let value = UInt64(word) else {
                throw CollectorError(file: "/proc/stat", message: "\"cpu\" line has a bad value \(quoted(word))")
            }
            values.append(value)
        }
        guard values.count >= 4 else {
            throw CollectorError(
                file: "/proc/stat", message: "\"cpu\" line has \(values.count) columns, expected at least 4")
        }
        values += repeatElement(0, count: 10 - values.count)
        return CPUTimes(
            user: values[0], nice: values[1], system: values[2], idle: values[3], iowait: values[4],
            irq: values[5], softirq: values[6], steal: values[7], guest: values[8], guestNice: values[9])
    }

    /// CPU utilisation between `earlier` and now, in percent, with psutil's `cpu_percent(interval)`
    /// algorithm: per-column deltas (negative ones, from counters that went backwards, count as 0); the
    /// total is their sum minus guest and guest_nice (already inside user and nice); busy is the total minus
    /// idle and iowait. Clamped to 0...100 and rounded like Python's `round(x, 1)`; 0 when no tick elapsed.
    public func busyPercent(since earlier: CPUTimes) -> Double {
        let deltas = zip(fields, earlier.fields).map { now, then in now >= then ? Double(now - then) : 0 }
        let delta = CPUTimes.Deltas(deltas)
        let total = deltas.reduce(0, +) - delta.guest - delta.guestNice
        let busy = total - delta.idle - delta.iowait
        guard total > 0 else { return 0 }
        return roundedToOneDecimal(min(max(busy / total * 100, 0), 100))
    }

    private struct Deltas {
        var idle: Double, iowait: Double, guest: Double, guestNice: Double
        init(_ values: [Double]) {
            idle = values[3]
            iowait = values[4]
            guest = values[8]
            guestNice = values[9]
        }
    }
}

/// The words of the first `/proc/stat` line whose first word is `name`.
func procStatLine(named name: String, in procStat: String) -> [Substring]? {
    for line in procStat.split(separator: "\n") {
        let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
        if words.first == Substring(name) { return words }
    }
    return nil
}
