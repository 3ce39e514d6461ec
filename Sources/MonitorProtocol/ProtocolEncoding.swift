extension ProtocolCodec {
    /// One line: the message as a JSON object followed by `\n`.
    public static func encode(_ message: GatewayMessage) -> [UInt8] {
        line { write(message, to: &$0) }
    }

    private static func write(_ message: GatewayMessage, to writer: inout JSONWriter) {
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
    }

    /// One line: the message as a JSON object followed by `\n`. A sample without timestamp
    /// is written without `ts` (which the gateway refuses: native samples carry their time);
    /// non-finite values are written as `null`, which the gateway refuses too.
    public static func encode(_ message: AgentMessage) -> [UInt8] {
        line { write(message, to: &$0) }
    }

    /// The object `members` writes, then `\n`.
    private static func line(_ members: (inout JSONWriter) -> Void) -> [UInt8] {
        var writer = JSONWriter(reservingCapacity: 160)
        writer.object(members)
        return writer.line()
    }

    private static func write(_ message: AgentMessage, to writer: inout JSONWriter) {
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
    }
}
