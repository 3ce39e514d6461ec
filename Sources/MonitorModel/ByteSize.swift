/// Sizes in the configuration: a plain byte count (`65536`) or a binary unit (`64KiB`, `1MiB`, `1GiB`).
///
/// Only binary units are accepted: `KB` would leave the reader guessing between 1000 and 1024.
package enum ByteSize {
    package static let units: [(suffix: String, bytes: Int)] = [
        ("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10), ("B", 1),
    ]

    package static func parse(_ text: String) -> Int? {
        var number = Substring(text)
        var scale = 1
        for unit in units where text.hasSuffix(unit.suffix) {
            number = text.dropLast(unit.suffix.count)
            scale = unit.bytes
            break
        }
        while number.hasSuffix(" ") { number = number.dropLast() }
        guard (1...18).contains(number.utf8.count), number.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
            let value = Int(number)
        else { return nil }
        let (bytes, overflow) = value.multipliedReportingOverflow(by: scale)
        return overflow ? nil : bytes
    }

    package static func render(_ bytes: Int) -> String {
        for unit in units.dropLast() where bytes != 0 && bytes % unit.bytes == 0 {
            return "\(bytes / unit.bytes)\(unit.suffix)"
        }
        return "\(bytes)"
    }
}
