public import MonitorSystem

/// System memory as psutil's `virtual_memory()` reports it, from `/proc/meminfo`.
public struct MemoryInfo: Sendable, Equatable {
    public var totalBytes: UInt64
    /// Memory available for new work without swapping (the kernel's `MemAvailable`).
    public var availableBytes: UInt64

    /// psutil `virtual_memory().percent`: `(total - available) / total * 100`, rounded to one decimal the
    /// way Python's `round` does, so the report's dashboards see the same numbers as with the Python agent.
    public var usedPercent: Double {
        guard totalBytes > 0 else { return 0 }
        let used = totalBytes >= availableBytes ? totalBytes - availableBytes : 0
        return (Double(used) / Double(totalBytes) * 100).roundedToOneDecimal
    }

    /// Parses `/proc/meminfo` with psutil's rules: values are in KiB; when `MemAvailable` is missing
    /// (kernels before 3.14) or 0 (a kernel bug psutil works around), it is estimated from the page cache
    /// and reclaimable slab as the kernel does, using the low watermarks from `zoneinfo` when given, and
    /// `MemFree + Cached` otherwise; an available amount above the total (containers) becomes `MemFree`.
    public static func parse(
        _ meminfo: String, zoneinfo: String? = nil, pageSize: Int = 4096
    ) throws(ProcFileError) -> MemoryInfo {
        try ProcText.withBytes(of: meminfo) { text throws(ProcFileError) in
            try parse(text, zoneinfo: { zoneinfo }, pageSize: pageSize)
        }
    }

    /// The fields of `/proc/meminfo` psutil uses, in bytes.
    struct Fields {
        var total: UInt64?, free: UInt64?, available: UInt64?, cached: UInt64?
        var activeFile: UInt64?, inactiveFile: UInt64?, slabReclaimable: UInt64?

        /// The `/proc/meminfo` name of each field, in the order of ``set(_:to:)``'s indexes (and
        /// of the kernel's lines).
        static let names: [StaticString] = [
            "MemTotal", "MemFree", "MemAvailable", "Cached", "Active(file)", "Inactive(file)", "SReclaimable",
        ]

        /// The index of the field named `name` (without its colon); nil if psutil does not use it.
        static func index(of name: ProcText.Word) -> Int? {
            names.firstIndex { ProcText.word(name, equals: $0) }
        }

        /// Sets the field of the name at `index` in ``names`` (a switch, not key paths: this runs
        /// for every line read, each sample).
        mutating func set(_ index: Int, to value: UInt64) {
            switch index {
            case 0: total = value
            case 1: free = value
            case 2: available = value
            case 3: cached = value
            case 4: activeFile = value
            case 5: inactiveFile = value
            default: slabReclaimable = value
            }
        }

        /// Whether nothing further down the file can change the result: the three fields of a
        /// usable `MemAvailable` (the first three lines of every kernel since 3.14), or all of them.
        var complete: Bool {
            guard total != nil, free != nil else { return false }
            if let available, available != 0 { return true }
            return cached != nil && activeFile != nil && inactiveFile != nil && slabReclaimable != nil
        }
    }

    /// As ``parse(_:zoneinfo:pageSize:)``, over the file's bytes; `zoneinfo` is asked for only
    /// when the estimate needs it (kernels without a usable `MemAvailable`).
    ///
    /// It stops reading at the last line it needs: on today's kernels the third of about fifty, so
    /// a field it does not use can neither cost time nor fail the sample.
    static func parse(
        _ text: ProcText, zoneinfo: () -> String?, pageSize: Int
    ) throws(ProcFileError) -> MemoryInfo {
        var fields = Fields()
        for var line in text.lines {
            guard let name = line.nextWord(), name.last == UInt8(ascii: ":"),
                let index = Fields.index(of: name.dropLast()), let word = line.nextWord()
            else { continue }
            fields.set(index, to: try kibibytesAsBytes(word, name: name.dropLast()))
            if fields.complete { break }
        }
        guard let total = fields.total else {
            throw ProcFileError(file: "/proc/meminfo", message: "MemTotal is missing")
        }
        guard let free = fields.free else {
            throw ProcFileError(file: "/proc/meminfo", message: "MemFree is missing")
        }
        var available: Double
        if let reported = fields.available, reported != 0 {
            available = Double(reported)
        } else {
            available = estimatedAvailable(fields, free: free, zoneinfo: zoneinfo(), pageSize: pageSize)
        }
        if available < 0 {
            available = 0
        } else if available > Double(total) {
            available = Double(free)
        }
        return MemoryInfo(totalBytes: total, availableBytes: UInt64(available))
    }

    private static func kibibytesAsBytes(_ word: ProcText.Word, name: ProcText.Word) throws(ProcFileError) -> UInt64 {
        guard let kibibytes = ProcText.decimal(word), kibibytes <= UInt64.max / 1024 else {
            throw ProcFileError(
                file: "/proc/meminfo",
                message: "\(ProcText.text(name)) has a bad value \(ProcText.text(word).quoted)")
        }
        return kibibytes * 1024
    }

    /// psutil's `calculate_avail_vmem`, which reimplements the kernel's own `MemAvailable` estimate.
    private static func estimatedAvailable(
        _ fields: Fields, free: UInt64, zoneinfo: String?, pageSize: Int
    ) -> Double {
        let fallback = Double(free) + Double(fields.cached ?? 0)
        guard let activeFile = fields.activeFile, let inactiveFile = fields.inactiveFile,
            let slabReclaimable = fields.slabReclaimable, let zoneinfo
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
