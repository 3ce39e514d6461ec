extension Duration {
    /// Reads a duration as operators write it in the configuration: a positive number followed by a
    /// unit, `500ms`, `5s`, `2m`, `1h`, or with a fraction, `1.5s`.
    ///
    /// A unit is required because a bare `30` is ambiguous (seconds? milliseconds?), and that ambiguity
    /// is exactly the kind of mistake that silently turns a 30 s timeout into 30 ms.
    /// `nil` for anything else, including zero, more than 9 decimals and values that do not fit
    /// in 64-bit nanoseconds (about 292 years).
    public init?(configurationText text: String) {
        let units: [(suffix: String, nanoseconds: Int64)] = [
            ("ms", 1_000_000), ("s", 1_000_000_000), ("m", 60_000_000_000), ("h", 3_600_000_000_000),
        ]
        for unit in units where text.hasSuffix(unit.suffix) {
            let number = text.dropLast(unit.suffix.count)
            // "5ms" also ends in "s"; the number part then ends in "m" and fails to parse, which is fine.
            guard let nanoseconds = Self.scaledDecimal(number, by: unit.nanoseconds), nanoseconds > 0 else {
                continue
            }
            self = .nanoseconds(nanoseconds)
            return
        }
        return nil
    }

    /// The duration in the shortest exact form `init(configurationText:)` accepts back.
    package var configurationText: String {
        let (seconds, attoseconds) = components
        let (secondsInNanos, overflow) = seconds.multipliedReportingOverflow(by: 1_000_000_000)
        let (nanoseconds, overflow2) = secondsInNanos.addingReportingOverflow(attoseconds / 1_000_000_000)
        guard !overflow, !overflow2, nanoseconds > 0 else { return "\(seconds)s" }
        for (suffix, unit) in [
            ("h", Int64(3_600_000_000_000)), ("m", 60_000_000_000), ("s", 1_000_000_000), ("ms", 1_000_000),
        ]
        where nanoseconds % unit == 0 {
            return "\(nanoseconds / unit)\(suffix)"
        }
        var fraction = String(nanoseconds % 1_000_000_000)
        fraction = String(repeating: "0", count: 9 - fraction.count) + fraction
        while fraction.hasSuffix("0") { fraction.removeLast() }
        return "\(nanoseconds / 1_000_000_000).\(fraction)s"
    }

    /// `digits[.digits] * scale`, exactly, or `nil` on syntax error or overflow. Sub-nanosecond remainders truncate.
    private static func scaledDecimal(_ text: Substring, by scale: Int64) -> Int64? {
        let parts = text.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let whole = parts[0]
        let fraction = parts.count > 1 ? parts[1] : ""
        guard !whole.isEmpty, isDigits(whole), fraction.utf8.count <= 9, parts.count == 1 || !fraction.isEmpty,
            isDigits(fraction)
        else { return nil }
        var value: Int64 = 0
        for digit in (whole + fraction).utf8 {
            let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (next, overflow2) = shifted.addingReportingOverflow(Int64(digit - 0x30))
            guard !overflow1, !overflow2 else { return nil }
            value = next
        }
        var divisor: Int64 = 1
        for _ in 0..<fraction.utf8.count { divisor *= 10 }
        // Divide what can be divided first so that e.g. "1.5h" does not overflow needlessly.
        let (product, overflow) = value.multipliedReportingOverflow(by: scale / gcd(scale, divisor))
        guard !overflow else { return nil }
        return product / (divisor / gcd(scale, divisor))
    }

    private static func isDigits(_ text: Substring) -> Bool {
        text.utf8.allSatisfy { (0x30...0x39).contains($0) }
    }

    private static func gcd(_ a: Int64, _ b: Int64) -> Int64 {
        var (a, b) = (a, b)
        while b != 0 { (a, b) = (b, a % b) }
        return a
    }
}
