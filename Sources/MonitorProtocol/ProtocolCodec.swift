import MonitorModel

/// Reads and writes the messages of both dialects spoken on the agent port.
///
/// Decoding takes one object as cut by `JSONObjectSplitter` and validates it completely: a
/// message that decodes is safe to store. Encoding writes one object per line (`\n`-terminated),
/// the native protocol's framing.
public enum ProtocolCodec {
    /// The native protocol version this build speaks.
    public static let version = 1

    /// The highest `interrupts` value accepted: 2^63, so that peers keeping counters in signed
    /// 64-bit integers and the gateway agree on the range.
    public static let maximumInterrupts: UInt64 = 1 << 63

    /// Classifies and validates an object received from a peer: a native message when it has a
    /// `"type"`, a sample in the report's format when it has any of the report's keys.
    public static func decodePeerMessage(_ object: [UInt8]) throws(ProtocolError) -> PeerMessage {
        try object.withUnsafeBufferPointer { (bytes) throws(ProtocolError) -> PeerMessage in
            let object = try ProtocolObject(bytes: bytes)
            if object.contains(.type) {
                return .native(try decodeAgentMessage(object))
            }
            if ProtocolKey.reportFormatKeys.contains(where: object.contains) {
                return .reportFormat(try decodeReportFormatSample(object))
            }
            throw ProtocolError(reason: "message has neither \"type\" nor the report's keys")
        }
    }

    /// Validates an object received from the gateway.
    public static func decodeGatewayMessage(_ object: [UInt8]) throws(ProtocolError) -> GatewayMessage {
        try object.withUnsafeBufferPointer { (bytes) throws(ProtocolError) -> GatewayMessage in
            let object = try ProtocolObject(bytes: bytes)
            let type = try object.string(.type, in: "message")
            switch type {
            case "welcome":
                let version = try protocolVersion(of: object, in: "welcome")
                // 0 means none, like absent: gateways before 0.2 sent it for a session they knew
                // without a sample, and refusing it locked such an agent out.
                let last = try object.optionalInteger(.lastSequence, in: "welcome", range: 0...UInt64.max)
                return .welcome(protocolVersion: version, lastSequence: last == 0 ? nil : last)
            case "ack":
                // 0: a keepalive (see `Hello.keepalive`); the conversation decides whether it is believed.
                return .ack(sequence: try object.integer(.sequence, in: "ack", range: 0...UInt64.max))
            case "error":
                return .error(reason: try object.string(.reason, in: "error"))
            default:
                throw unsupportedType(type)
            }
        }
    }

    private static func decodeAgentMessage(_ object: ProtocolObject) throws(ProtocolError) -> AgentMessage {
        let type = try object.string(.type, in: "message")
        switch type {
        case "hello":
            return .hello(try decodeHello(object))
        case "sample":
            return .sample(try decodeSample(object))
        default:
            throw unsupportedType(type)
        }
    }

    private static func decodeHello(_ object: ProtocolObject) throws(ProtocolError) -> Hello {
        let version = try protocolVersion(of: object, in: "hello")
        let agent = try object.string(.agent, in: "hello")
        do {
            try AgentName.validate(agent)
        } catch {
            throw ProtocolError(reason: error.reason)
        }
        let agentVersion = try object.string(.version, in: "hello")
        guard (1...64).contains(agentVersion.utf8.count), agentVersion.utf8.allSatisfy({ (0x20...0x7E).contains($0) })
        else {
            throw ProtocolError(reason: "\"version\" must be 1 to 64 printable ASCII characters")
        }
        let session = try object.string(.session, in: "hello")
        guard (8...64).contains(session.utf8.count), session.utf8.allSatisfy({ JSONReader.hexValue($0) != nil }) else {
            throw ProtocolError(reason: "\"session\" must be 8 to 64 hexadecimal digits")
        }
        let token = try object.optionalString(.token, in: "hello")
        if let token, !(1...256).contains(token.utf8.count) {
            throw ProtocolError(reason: "\"token\" must be 1 to 256 bytes")
        }
        return Hello(
            protocolVersion: version, agent: agent, agentVersion: agentVersion, session: session.lowercased(),
            token: token, keepalive: try object.optionalBoolean(.keepalive, in: "hello") ?? false)
    }

    private static func decodeSample(_ object: ProtocolObject) throws(ProtocolError) -> Sample {
        let message = "sample"
        return Sample(
            sequence: try object.integer(.sequence, in: message, range: 1...UInt64.max),
            timestamp: try object.number(
                .timestamp, in: message, range: 0...Double.greatestFiniteMagnitude, excludingLowerBound: true,
                rule: "a finite number of seconds greater than 0"),
            ramUsagePercent: try percent(.ramPercent, of: object, in: message),
            cpuUsagePercent: try percent(.cpuPercent, of: object, in: message),
            processRAMGigabytes: try gigabytes(.processRAMGigabytes, of: object, in: message),
            cpuInterrupts: try object.integer(.interrupts, in: message, range: 0...maximumInterrupts)
        )
    }

    private static func decodeReportFormatSample(_ object: ProtocolObject) throws(ProtocolError) -> Sample {
        let message = "the report's message"
        return Sample(
            sequence: 0,
            timestamp: nil,
            ramUsagePercent: try percent(.reportFormatRAM, of: object, in: message),
            cpuUsagePercent: try percent(.reportFormatCPU, of: object, in: message),
            processRAMGigabytes: try gigabytes(.reportFormatProcessRAM, of: object, in: message),
            cpuInterrupts: try object.integer(.reportFormatInterrupts, in: message, range: 0...maximumInterrupts)
        )
    }

    /// Percentages must lie in 0...100 exactly. `part / total * 100` with `part <= total` never
    /// exceeds 100 in IEEE arithmetic, so a larger value means a broken sender, not rounding.
    private static func percent(
        _ key: ProtocolKey,
        of object: ProtocolObject,
        in message: String
    ) throws(ProtocolError) -> Double {
        try object.number(key, in: message, range: 0...100, rule: "a number from 0 to 100")
    }

    private static func gigabytes(
        _ key: ProtocolKey,
        of object: ProtocolObject,
        in message: String
    ) throws(ProtocolError) -> Double {
        try object.number(
            key, in: message, range: 0...Double.greatestFiniteMagnitude,
            rule: "a finite number greater than or equal to 0")
    }

    private static func protocolVersion(of object: ProtocolObject, in message: String) throws(ProtocolError) -> Int {
        let version = try object.integer(.protocolVersion, in: message)
        guard version == UInt64(Self.version) else {
            throw ProtocolError(reason: "unsupported protocol version \(version) (supported: \(Self.version))")
        }
        return Self.version
    }

    private static func unsupportedType(_ type: String) -> ProtocolError {
        ProtocolError(reason: "unsupported message type \(ProtocolText.excerpt(type))")
    }
}
