public import Logging

/// The one-line, human-readable form of a log event used when no journal is listening:
/// `2026-11-25T09:00:00Z info monitord: agent connected agent=web-01 remote=127.0.0.1:5555`.
///
/// Every event is exactly one line: newlines in the message or in values are escaped, so a
/// peer that sends a name containing a newline cannot forge a second log line.
public enum LogLineFormat {
    /// Formats one event; `unixSeconds` is passed in so that the function is pure.
    public static func line(
        unixSeconds: Int64,
        level: Logger.Level,
        identifier: String,
        message: String,
        metadata: Logger.Metadata,
        error: (any Error)? = nil
    ) -> String {
        var text = timestamp(unixSeconds: unixSeconds) + " " + level.rawValue + " " + identifier + ": "
        text += escapeControlCharacters(message)
        for key in metadata.keys.sorted() {
            guard let value = metadata[key] else { continue }
            text += " " + escapeControlCharacters(key) + "=" + quoteIfNeeded(value.description)
        }
        if let error { text += " error=" + quoteIfNeeded(String(describing: error)) }
        return text
    }

    /// RFC 3339 UTC time with whole seconds, e.g. `2026-11-25T09:00:00Z`.
    ///
    /// Computed arithmetically (days-from-civil, proleptic Gregorian) rather than with
    /// `gmtime_r`, so it needs no libc state and works for any `Int64`-representable second
    /// between years 0 and 9999 that logs could plausibly carry.
    public static func timestamp(unixSeconds: Int64) -> String {
        let secondsPerDay: Int64 = 86_400
        var days = unixSeconds / secondsPerDay
        var secondOfDay = unixSeconds % secondsPerDay
        if secondOfDay < 0 {
            secondOfDay += secondsPerDay
            days -= 1
        }
        // Howard Hinnant's civil_from_days: eras of 400 years starting on 0000-03-01.
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)

        return pad(year, 4) + "-" + pad(month, 2) + "-" + pad(day, 2) + "T" + pad(secondOfDay / 3_600, 2) + ":"
            + pad(secondOfDay % 3_600 / 60, 2) + ":" + pad(secondOfDay % 60, 2) + "Z"
    }

    /// A metadata value as `key=value` shows it: bare when unambiguous, otherwise in double
    /// quotes with `\"`, `\\` and control characters escaped, so the line can be split on spaces.
    public static func quoteIfNeeded(_ value: String) -> String {
        let needsQuotes =
            value.isEmpty
            || value.unicodeScalars.contains { scalar in
                scalar == " " || scalar == "\"" || scalar == "=" || scalar == "\\" || scalar.properties.isWhitespace
                    || scalar.value < 0x20 || scalar.value == 0x7F
            }
        guard needsQuotes else { return value }
        var quoted = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": quoted += "\\\""
            case "\\": quoted += "\\\\"
            default: quoted += escape(scalar)
            }
        }
        return quoted + "\""
    }

    /// Newlines, tabs and other control characters as `\n`, `\t`, `\u{1B}`; everything else as is.
    public static func escapeControlCharacters(_ text: String) -> String {
        var escaped = ""
        for scalar in text.unicodeScalars { escaped += escape(scalar) }
        return escaped
    }

    private static func escape(_ scalar: Unicode.Scalar) -> String {
        switch scalar {
        case "\n": return "\\n"
        case "\r": return "\\r"
        case "\t": return "\\t"
        default:
            if scalar.value < 0x20 || scalar.value == 0x7F || scalar.value == 0x2028 || scalar.value == 0x2029
                || scalar.value == 0x85
            {
                return "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
            }
            return String(scalar)
        }
    }

    private static func pad(_ value: Int64, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}
