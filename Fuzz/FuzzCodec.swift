// libFuzzer entry point for ProtocolCodec.decodePeerMessage; built by scripts/fuzz.sh.
//
// Checked properties: no crash on any input; whatever our strict reader accepts as JSON,
// Foundation's JSONDecoder accepts too, with the same top-level strings (differential test);
// and a decoded message re-encodes to text that decodes to the same message.

import FoundationEssentials

@testable import MonitorProtocol

private indirect enum Reference: Decodable, Equatable {
    case string(String), number, bool, null, array([Reference]), object([String: Reference])

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if (try? container.decode(Bool.self)) != nil {
            self = .bool
        } else if (try? container.decode(Double.self)) != nil {
            self = .number
        } else if let value = try? container.decode(String.self) {
            self = .string(value)
        } else if let value = try? container.decode([Reference].self) {
            self = .array(value)
        } else {
            self = .object(try container.decode([String: Reference].self))
        }
    }
}

/// True when the text has a number that Foundation's reader handles differently from RFC 8259,
/// so the differential check must skip it: numbers it cannot represent (`1e400`, `1e-400`, 400
/// digits), which our reader accepts as JSON and refuses or rounds later, by field; and a lone
/// zero with an exponent (`0e2`), valid JSON that Foundation refuses (while accepting `-0e2`).
/// Runs of number characters inside strings are checked too, which only skips a few inputs.
private func foundationDiffers(_ bytes: [UInt8]) -> Bool {
    let numberBytes = Set("-+.0123456789eE".utf8)
    var index = 0
    while index < bytes.count {
        guard numberBytes.contains(bytes[index]) else {
            index += 1
            continue
        }
        let start = index
        while index < bytes.count, numberBytes.contains(bytes[index]) {
            index += 1
        }
        let token = bytes[start..<index]
        if token.count >= 2, token.first == UInt8(ascii: "0"), token.dropFirst().first! | 0x20 == UInt8(ascii: "e") {
            return true
        }
        guard let value = Double(String(decoding: token, as: UTF8.self)) else { continue }
        let mantissa = token.prefix { $0 | 0x20 != UInt8(ascii: "e") }
        if !value.isFinite || (value == 0 && mantissa.contains { $0 >= UInt8(ascii: "1") && $0 <= UInt8(ascii: "9") }) {
            return true
        }
    }
    return false
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzCodec(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    let decoded = try? ProtocolCodec.decodePeerMessage(input)
    _ = try? ProtocolCodec.decodeGatewayMessage(input)

    let ours: [String: String]? = input.withUnsafeBufferPointer { bytes in
        guard let document = try? JSONReader.read(bytes) else { return nil }
        // Foundation keeps the first occurrence of a repeated key; so do we here.
        var seen: Set<String> = []
        var strings: [String: String] = [:]
        for member in document.members {
            let key = JSONReader.string(of: member.key, in: bytes)
            if seen.insert(key).inserted, member.value.kind == .string {
                strings[key] = JSONReader.string(of: member.value, in: bytes)
            }
        }
        return strings
    }
    if let ours, !foundationDiffers(input) {
        guard let reference = try? JSONDecoder().decode(Reference.self, from: Data(input)) else {
            fatalError("we accept JSON that Foundation refuses: \(String(decoding: input, as: UTF8.self))")
        }
        if case .object(let members) = reference {
            for (key, value) in ours where members[key] != .string(value) {
                fatalError("string \(key) differs from Foundation's reading")
            }
        }
    }

    if let decoded {
        let line: [UInt8]
        switch decoded {
        case .native(let message): line = ProtocolCodec.encode(message)
        case .reportFormat(let sample): line = ProtocolCodec.encode(AgentMessage.sample(sample))
        }
        let again = try? ProtocolCodec.decodePeerMessage(line)
        switch decoded {
        case .native:
            guard again == decoded else {
                fatalError("re-encoding changed \(decoded) into \(String(describing: again))")
            }
        case .reportFormat(let sample):
            // The report's samples have no timestamp; re-encoded as native they miss "ts".
            guard again == nil, sample.sequence == 0 else { fatalError("report-format sample re-encoded unexpectedly") }
        }
    }
    return 0
}
