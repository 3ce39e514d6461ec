import MonitorSystem

/// Text formatting shared by the server-rendered page; `StatusPageScript` mirrors each function in JavaScript so that
/// a refreshed row reads exactly like the first one.
enum StatusFormat {
    /// `58.4 %`: one decimal, rounded half away from zero.
    static func percent(_ value: Double) -> String {
        fixed(value, decimals: 1) + " %"
    }

    /// A size given in GiB shown in MiB with one decimal (`9.3 MiB`): the agent's RSS is megabytes, not gigabytes.
    static func mebibytes(fromGibibytes value: Double) -> String {
        fixed(value * 1024, decimals: 1) + " MiB"
    }

    /// `3 s`, `5 min`, `2 h 5 min`, `4 d 3 h`: an age or a duration, to the unit that matters.
    static func duration(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "?" }
        let total = Int64(max(0, seconds).rounded(.down))
        if total < 60 { return "\(total) s" }
        let minutes = total / 60
        if minutes < 60 { return "\(minutes) min" }
        let hours = minutes / 60
        if hours < 24 { return minutes % 60 == 0 ? "\(hours) h" : "\(hours) h \(minutes % 60) min" }
        let days = hours / 24
        return hours % 24 == 0 ? "\(days) d" : "\(days) d \(hours % 24) h"
    }

    /// `2024-05-01T12:34:56Z`: Unix seconds as UTC, for tooltips and machine-readable attributes.
    static func isoUTC(_ seconds: Double) -> String {
        guard seconds.isFinite, abs(seconds) < 1e12 else { return "?" }
        // The same RFC 3339 rendering as the log lines, so times read alike everywhere.
        return LogLineFormat.timestamp(unixSeconds: Int64(seconds.rounded(.down)))
    }

    /// `value` with exactly `decimals` digits after the point, without Foundation's `String(format:)`.
    static func fixed(_ value: Double, decimals: Int) -> String {
        guard value.isFinite else { return value.isNaN ? "NaN" : (value < 0 ? "-Inf" : "+Inf") }
        var scale = 1.0
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(value) * scale).rounded(.toNearestOrAwayFromZero)
        guard scaled < 0x1p62 else { return value.description }
        let units = Int64(scaled)
        let integral = units / Int64(scale)
        let fraction = units % Int64(scale)
        let sign = value < 0 && units != 0 ? "-" : ""
        return decimals == 0 ? "\(sign)\(integral)" : "\(sign)\(integral).\(pad(fraction, decimals))"
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}
