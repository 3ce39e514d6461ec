/// The unsigned decimals of `/proc` files (ours and the agent's collectors read them as bytes).
package enum ASCIIDecimal {
    /// A decimal number of ASCII digits only; `nil` if empty, anything else, or above `UInt64.max`.
    package static func parse(_ digits: some Collection<UInt8>) -> UInt64? {
        guard !digits.isEmpty else { return nil }
        var value: UInt64 = 0
        for byte in digits {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            value = sum
        }
        return value
    }

    /// The same for bytes in a buffer, as the agent's collectors hold their words. A concrete entry
    /// point, specialised here: called generically from another module, every digit went through
    /// the runtime's metadata and witness lookups, and the agent's parsing of a sample cost 1.6
    /// times as many instructions (callgrind, docs/performance.md).
    package static func parse(buffer digits: UnsafeRawBufferPointer) -> UInt64? {
        parse(digits)
    }
}
