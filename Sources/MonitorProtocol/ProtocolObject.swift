/// A validated JSON object with typed, range-checked access to the members the protocol knows.
///
/// Each accessor throws a `ProtocolError` whose reason names the key and the rule, so every
/// refusal tells the peer exactly what to fix.
struct ProtocolObject {
    private let bytes: UnsafeBufferPointer<UInt8>
    private var values: [JSONReader.Token?] = Array(repeating: nil, count: ProtocolKey.allCases.count)

    /// Reads `bytes` as one JSON object. A known key given twice is refused rather than
    /// resolved: JSON libraries disagree on which occurrence wins, and a sender relying on
    /// either is broken.
    init(bytes: UnsafeBufferPointer<UInt8>) throws(ProtocolError) {
        self.bytes = bytes
        let document = try JSONReader.read(bytes)
        guard document.root.kind == .object else {
            throw ProtocolError(reason: "not a JSON object")
        }
        for member in document.members {
            let key: ProtocolKey?
            if member.key.hasEscapes {
                key = JSONReader.utf8Content(of: member.key, in: bytes).withUnsafeBufferPointer {
                    ProtocolKey(utf8: $0)
                }
            } else {
                key = ProtocolKey(utf8: UnsafeBufferPointer(rebasing: bytes[member.key.range]))
            }
            guard let key else { continue }
            guard values[key.rawValue] == nil else {
                throw ProtocolError(reason: "duplicate key \(key.quoted)")
            }
            values[key.rawValue] = member.value
        }
    }

    func contains(_ key: ProtocolKey) -> Bool {
        values[key.rawValue] != nil
    }

    private func token(_ key: ProtocolKey, in message: String) throws(ProtocolError) -> JSONReader.Token {
        guard let token = values[key.rawValue] else {
            throw ProtocolError(reason: "missing \(key.quoted) in \(message)")
        }
        return token
    }

    /// A string member.
    func string(_ key: ProtocolKey, in message: String) throws(ProtocolError) -> String {
        let token = try token(key, in: message)
        guard token.kind == .string else {
            throw ProtocolError(reason: "\(key.quoted) must be a string")
        }
        return JSONReader.string(of: token, in: bytes)
    }

    /// An optional string member: absent or `null` is `nil`.
    func optionalString(_ key: ProtocolKey, in message: String) throws(ProtocolError) -> String? {
        guard let token = values[key.rawValue], token.kind != .null else { return nil }
        return try string(key, in: message)
    }

    /// An integer member written as digits only: no sign, fraction or exponent, so that a
    /// value is never silently rounded or truncated.
    func integer(
        _ key: ProtocolKey,
        in message: String,
        range: ClosedRange<UInt64> = 0...UInt64.max
    ) throws(ProtocolError) -> UInt64 {
        let token = try token(key, in: message)
        // Reasons are built only on failure: interpolation would dominate the fast path.
        func refusal() -> ProtocolError {
            ProtocolError(reason: "\(key.quoted) must be an integer from \(range.lowerBound) to \(range.upperBound)")
        }
        guard token.kind == .number, token.isIntegerLiteral, !token.isNegative else { throw refusal() }
        var value: UInt64 = 0
        for byte in bytes[token.range] {
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { throw refusal() }
            value = sum
        }
        guard range.contains(value) else { throw refusal() }
        return value
    }

    /// An optional boolean member: absent or `null` is `nil`.
    func optionalBoolean(_ key: ProtocolKey, in message: String) throws(ProtocolError) -> Bool? {
        guard let token = values[key.rawValue], token.kind != .null else { return nil }
        switch token.kind {
        case .literalTrue: return true
        case .literalFalse: return false
        default: throw ProtocolError(reason: "\(key.quoted) must be true or false")
        }
    }

    /// An optional integer member: absent or `null` is `nil`.
    func optionalInteger(
        _ key: ProtocolKey,
        in message: String,
        range: ClosedRange<UInt64>
    ) throws(ProtocolError) -> UInt64? {
        guard let token = values[key.rawValue], token.kind != .null else { return nil }
        return try integer(key, in: message, range: range)
    }

    /// A finite number member within `range`, described in errors as `rule`. Huge literals such
    /// as `1e400` read as infinity and are refused here. Negative zero is returned as zero.
    func number(
        _ key: ProtocolKey,
        in message: String,
        range: ClosedRange<Double>,
        excludingLowerBound: Bool = false,
        rule: String
    ) throws(ProtocolError) -> Double {
        let token = try token(key, in: message)
        func refusal() -> ProtocolError {
            ProtocolError(reason: "\(key.quoted) must be \(rule)")
        }
        guard token.kind == .number else { throw refusal() }
        let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[token.range]), as: UTF8.self)
        guard let value = Double(text), value.isFinite, range.contains(value),
            !(excludingLowerBound && value == range.lowerBound)
        else { throw refusal() }
        return value + 0.0
    }
}
