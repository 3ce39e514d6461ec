// libFuzzer entry point for the agent's handling of sequences of gateway messages: the bytes a
// gateway sends go through the real splitter, codec and GatewayConversation, interleaved with the
// agent's own events (taking a sample, writing to the connection, reconnecting), against a model
// of the agent's buffer. Built by scripts/fuzz.sh.
//
// The input is a program, one opcode byte at a time:
//   0 take a sample        1 write everything numbered      2 reconnect (a new conversation)
//   3 the gateway sends the bytes up to the next 0xFF (or the end)
// The first byte chooses the numbering's start (0, near 2^63 or near 2^64) and the spool-tail
// allowance. Checked properties: no crash or hang on any program; an ack is believed only up to
// what was written on this connection; a welcome's last_seq only up to the agent's numbering plus
// the allowance; nothing is believed after a refusal or protocol error; numbering never wraps; the
// buffer's sequences always increase; a sample is forgotten only once the gateway is believed to
// hold it.

@testable import MonitorProtocol

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConversation(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    guard let setup = input.first else { return 0 }
    let starts: [UInt64] = [0, 1 << 62, (1 << 63) - 3, UInt64.max - 3]
    let allowances: [UInt64] = [0, 1, 1000, UInt64.max]
    var agent = AgentModel(highestNumbered: starts[Int(setup & 3)], allowance: allowances[Int(setup >> 2 & 3)])
    var index = 1
    while index < input.count {
        let opcode = input[index] % 4
        index += 1
        switch opcode {
        case 0: agent.takeSample()
        case 1: agent.writeAll()
        case 2: agent.reconnect()
        default:
            let end = input[index...].firstIndex(of: 0xFF) ?? input.count
            agent.receive(input[index..<end])
            index = end + 1
        }
    }
    return 0
}

/// What the agent holds, as far as the properties need it.
struct AgentModel {
    var highestNumbered: UInt64
    var exhausted = false
    var buffer: [UInt64] = []
    let allowance: UInt64
    var conversation: GatewayConversation
    var splitter = JSONObjectSplitter(maximumObjectBytes: 64 * 1024)
    var connected = true
    /// The highest sequence written on this connection, and the welcome's last_seq.
    var written: UInt64 = 0
    var welcomedAt: UInt64 = 0
    /// Ended by a refusal, a protocol error or a framing error: the connection is closed.
    var ended = false

    init(highestNumbered: UInt64, allowance: UInt64) {
        self.highestNumbered = highestNumbered
        self.allowance = allowance
        conversation = GatewayConversation(tailAllowance: allowance)
    }

    mutating func takeSample() {
        guard !exhausted else { return }
        let (next, overflow) = highestNumbered.addingReportingOverflow(1)
        guard !overflow else {
            exhausted = true
            return
        }
        highestNumbered = next
        if let last = buffer.last, last >= next { fatalError("buffer order broken: \(last) then \(next)") }
        buffer.append(next)
    }

    mutating func writeAll() {
        guard !ended, conversation.phase == .welcomed, let last = buffer.last else { return }
        conversation.willSend(upTo: last)
        written = max(written, last)
    }

    mutating func reconnect() {
        conversation = GatewayConversation(tailAllowance: allowance)
        splitter = JSONObjectSplitter(maximumObjectBytes: 64 * 1024)
        written = 0
        welcomedAt = 0
        ended = false
    }

    mutating func receive(_ bytes: ArraySlice<UInt8>) {
        guard !ended else { return }
        splitter.append(bytes)
        while !ended {
            let object: [UInt8]?
            do {
                object = try splitter.nextObject()
            } catch {
                ended = true
                return
            }
            guard let object else { return }
            guard let message = try? ProtocolCodec.decodeGatewayMessage(object) else {
                ended = true
                return
            }
            apply(message)
        }
    }

    private mutating func apply(_ message: GatewayMessage) {
        let before = conversation.phase
        let verdict = conversation.receive(message, highestNumbered: highestNumbered)
        switch verdict {
        case .welcomed(let acknowledged, let numberAfter):
            guard before == .awaitingWelcome else { fatalError("welcomed twice") }
            guard acknowledged <= highestNumbered || acknowledged - highestNumbered <= allowance else {
                fatalError("believed last_seq \(acknowledged) with numbering at \(highestNumbered)")
            }
            if let numberAfter {
                guard numberAfter > highestNumbered else { fatalError("numbering moved back") }
                highestNumbered = numberAfter
            }
            welcomedAt = acknowledged
            forget(upTo: acknowledged)
        case .acknowledged(let sequence):
            guard before == .welcomed else { fatalError("an ack believed outside a welcomed conversation") }
            guard sequence <= max(written, welcomedAt) else {
                fatalError("believed ack \(sequence) with \(written) written")
            }
            forget(upTo: sequence)
        case .keptAlive:
            // A keepalive (ack 0) forgets nothing and is believed only in a welcomed conversation.
            guard before == .welcomed, conversation.phase == .welcomed else {
                fatalError("a keepalive believed outside a welcomed conversation")
            }
        case .refused, .protocolError:
            guard conversation.phase == .ended else { fatalError("the conversation goes on after \(verdict)") }
            ended = true
        }
    }

    private mutating func forget(upTo sequence: UInt64) {
        buffer.removeAll { $0 <= sequence }
    }
}
