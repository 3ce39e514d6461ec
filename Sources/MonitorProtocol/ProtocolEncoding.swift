extension ProtocolCodec {
    /// One line: the message as a JSON object followed by `\n`.
    public static func encode(_ message: GatewayMessage) -> [UInt8] {
        var writer = JSONLineWriter()
        switch message {
        case .welcome(let protocolVersion, let lastSequence):
            writer.member("type", string: "welcome")
            writer.member("protocol", integer: Int64(protocolVersion))
            if let lastSequence {
                writer.member("last_seq", integer: lastSequence)
            }
        case .ack(let sequence):
            writer.member("type", string: "ack")
            writer.member("seq", integer: sequence)
        case .error(let reason):
            writer.member("type", string: "error")
            writer.member("reason", string: reason)
        }
        return writer.finish()
    }

    /// One line: the message as a JSON object followed by `\n`. A sample without timestamp
    /// is written without `ts` (which the gateway refuses: native samples carry their time);
    /// non-finite values are written as `null`, which the gateway refuses too.
    public static func encode(_ message: AgentMessage) -> [UInt8] {
        var writer = JSONLineWriter()
        switch message {
        case .hello(let hello):
            writer.member("type", string: "hello")
            writer.member("protocol", integer: Int64(hello.protocolVersion))
            writer.member("agent", string: hello.agent)
            writer.member("version", string: hello.agentVersion)
            writer.member("session", string: hello.session)
            if let token = hello.token {
                writer.member("token", string: token)
            }
            if hello.keepalive {
                writer.member("keepalive", boolean: true)
            }
        case .sample(let sample):
            writer.member("type", string: "sample")
            writer.member("seq", integer: sample.sequence)
            if let timestamp = sample.timestamp {
                writer.member("ts", number: timestamp)
            }
            writer.member("ram_percent", number: sample.ramUsagePercent)
            writer.member("cpu_percent", number: sample.cpuUsagePercent)
            writer.member("process_ram_gib", number: sample.processRAMGigabytes)
            writer.member("interrupts", integer: sample.cpuInterrupts)
        }
        return writer.finish()
    }
}

/// Builds one JSON object on one line. Numbers use Swift's shortest round-trip spelling, so a
/// timestamp keeps every bit of its precision and integers have no `.0`.
struct JSONLineWriter {
    private var bytes: [UInt8] = [UInt8(ascii: "{")]

    init() {
        bytes.reserveCapacity(160)
    }

    mutating func member(_ key: StaticString, string value: String) {
        startMember(key)
        appendString(value)
    }

    mutating func member(_ key: StaticString, integer value: some BinaryInteger) {
        startMember(key)
        bytes.append(contentsOf: String(value).utf8)
    }

    mutating func member(_ key: StaticString, boolean value: Bool) {
        startMember(key)
        bytes.append(contentsOf: (value ? "true" : "false").utf8)
    }

    mutating func member(_ key: StaticString, number value: Double) {
        startMember(key)
        if value.isFinite {
            bytes.append(contentsOf: value.description.utf8)
        } else {
            bytes.append(contentsOf: "null".utf8)
        }
    }

    consuming func finish() -> [UInt8] {
        bytes.append(UInt8(ascii: "}"))
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }

    /// Keys are the protocol's own names, which need no escaping: copied whole rather than byte
    /// by byte through ``appendString(_:)`` (3 % of an agent's instructions per sample).
    private mutating func startMember(_ key: StaticString) {
        if bytes.count > 1 {
            bytes.append(UInt8(ascii: ","))
        }
        bytes.append(UInt8(ascii: "\""))
        bytes.append(contentsOf: UnsafeBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount))
        bytes.append(UInt8(ascii: "\""))
        bytes.append(UInt8(ascii: ":"))
    }

    /// Escapes what JSON requires (quote, backslash, control characters) and nothing else;
    /// the result stays on one line because newlines are escaped too.
    private mutating func appendString(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): bytes.append(contentsOf: #"\\"#.utf8)
            case 0x0A: bytes.append(contentsOf: #"\n"#.utf8)
            case 0x0D: bytes.append(contentsOf: #"\r"#.utf8)
            case 0x09: bytes.append(contentsOf: #"\t"#.utf8)
            case 0x00..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: #"\u00"#.utf8)
                bytes.append(hex[Int(byte >> 4)])
                bytes.append(hex[Int(byte & 0x0F)])
            default:
                bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
