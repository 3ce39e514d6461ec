import MonitorConfig

/// System memory as psutil's `virtual_memory()` reports it, from `/proc/meminfo`.
public struct MemoryInfo: Sendable, Equatable {
    public var totalBytes: UInt64
    /// Memory available for new work without swapping (the kernel's `MemAvailable`).
    public var availableBytes: UInt64

    public init(totalBytes: UInt64, availableBytes: UInt64) {
        self.totalBytes = totalBytes
        self.availableBytes = availableBytes
    }

    /// psutil `virtual_memory().percent`: `(total - available) / total * 100`, rounded to one decimal the
    /// way Python's `round` does, so the report's dashboards see the same numbers as with the Python agent.
    public var usedPercent: Double {
        guard totalBytes > 0 else { return 0 }
        let used = totalBytes >= availableBytes ? totalBytes - availableBytes : 0
        return roundedToOneDecimal(Double(used) / Double(totalBytes) * 100)
    }

    /// Parses `/proc/meminfo` with psutil's rules: values are in KiB; when `MemAvailable` is missing
    /// (kernels before 3.14) or 0 (a kernel bug psutil works around), it is estimated from the page cache
    /// and reclaimable slab as the kernel does, using the low watermarks from `zoneinfo` when given, and
    /// `MemFree + Cached` otherwise; an available amount above the total (containers) becomes `MemFree`.
    public static func parse(
        _ meminfo: String, zoneinfo: String? = nil, pageSize: Int = 4096
    ) throws(CollectorError) -> MemoryInfo {
        var fields: [Substring: UInt64] = [:]
        for line in meminfo.split(separator: "\n") {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard words.count >= 2, words[0].hasSuffix(":") else { continue }
            let name = words[0].dropLast()
            guard
                ["MemTotal", "MemFree", "MemAvailable", "Cached", "Active(file)", "Inactive(file)", "SReclaimable"]
                    .contains(name)
            else { continue }
            guard let kibibytes = UInt64(words[1]), kibibytes <= UInt64.max / 1024 else {
                throw CollectorError(file: "/proc/meminfo", message: "\(name) has a bad value \(quoted(words[1]))")
            }
            fields[name] = kibibytes * 1024
        }
        guard let total = fields["MemTotal"] else {
            throw CollectorError(file: "/proc/meminfo", message: "MemTotal is missing")
        }
        guard let free = fields["MemFree"] else {
            throw CollectorError(file: "/proc/meminfo", message: "MemFree is missing")
        }
        var available: Double
        if let reported = fields["MemAvailable"], reported != 0 {
            available = Double(reported)
        } else {
            available = estimatedAvailable(fields, free: free, zoneinfo: zoneinfo, pageSize: pageSize)
        }
        if available < 0 {
            available = 0
        } else if available > Double(total) {
            available = Double(free)
        }
        return MemoryInfo(totalBytes: total, availableBytes: UInt64(available))
    }

    /// psutil's `calculate_avail_vmem`, which reimplements the kernel's own `MemAvailable` estimate.
    private static func estimatedAvailable(
        _ fields: [Substring: UInt64], free: UInt64, zoneinfo: String?, pageSize: Int
    ) -> Double {
        let fallback = Double(free) + Double(fields["Cached"] ?? 0)
        guard let activeFile = fields["Active(file)"], let inactiveFile = fields["Inactive(file)"],
            let slabReclaimable = fields["SReclaimable"], let zoneinfo
        else { return fallback }
        var lowPages = 0.0
        for line in zoneinfo.split(separator: "\n") {
            let words = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if words.count >= 2, words[0].hasPrefix("low"), let pages = UInt64(words[1]) {
                lowPages += Double(pages)
            }
        }
        let watermarkLow = lowPages * Double(pageSize)
        var pageCache = Double(activeFile) + Double(inactiveFile)
        pageCache -= min(pageCache / 2, watermarkLow)
        let slab = Double(slabReclaimable)
        let estimate = Double(free) - watermarkLow + pageCache + slab - min(slab / 2, watermarkLow)
        return estimate.rounded(.towardZero)
    }
}
