/// Formats sample values the way Prometheus client libraries do, so the page reads naturally and parses exactly.
package enum PrometheusNumber {
    /// `NaN`, `+Inf`, `-Inf`; integral values below 2^63 in magnitude as plain integers (`58`, not `58.0` or
    /// `5.8e+01`); everything else as the shortest text that reads back as the same `Double`.
    package static func append(_ value: Double, to bytes: inout [UInt8]) {
        if value.isNaN {
            bytes.append(contentsOf: "NaN".utf8)
        } else if value.isInfinite {
            bytes.append(contentsOf: (value < 0 ? "-Inf" : "+Inf").utf8)
        } else if value.rounded(.towardZero) == value, value >= -0x1p63, value < 0x1p63 {
            let integer = Int64(value)
            if integer < 0 { bytes.append(UInt8(ascii: "-")) }
            append(integer.magnitude, to: &bytes)
        } else {
            // Swift's `description` is the shortest round-trip form, with exponents as `1e-05` / `1e+20`, which
            // Prometheus's parser (Go's ParseFloat) accepts.
            bytes.append(contentsOf: value.description.utf8)
        }
    }

    /// Appends the decimal digits of `value` without going through `String`.
    package static func append(_ value: UInt64, to bytes: inout [UInt8]) {
        let start = bytes.count
        var rest = value
        repeat {
            bytes.append(UInt8(ascii: "0") + UInt8(rest % 10))
            rest /= 10
        } while rest > 0
        bytes[start...].reverse()
    }
}
