/// The agent's judgement of what one gateway connection tells it: which messages it may believe,
/// and when the gateway has broken the protocol.
///
/// Pure (no I/O, no locks), so that the uplink, the unit tests and the state-machine fuzz target
/// run the very same rules. A gateway is trusted only as far as the agent can check it:
/// - `welcome.last_seq` may not exceed what the agent has numbered, except by at most
///   ``tailAllowance`` (a spool whose unsynced tail a power loss took: the gateway then holds
///   numbers the agent no longer knows);
/// - an `ack` may not exceed the highest sequence sent on this connection (or the welcome's
///   `last_seq`, which the gateway may confirm again);
/// - one `welcome`, first; nothing but `error` before it;
/// - an `ack` of 0 acknowledges nothing: a keepalive (``Verdict/keptAlive``), which this agent
///   asked for in its hello.
/// Anything else is a protocol error: the agent closes the connection and retries with backoff,
/// and forgets nothing on the gateway's word.
package struct GatewayConversation: Sendable, Equatable {
    package enum Phase: Sendable, Equatable {
        case awaitingWelcome
        case welcomed
        /// After a refusal or a protocol error: nothing more is believed.
        case ended
    }

    /// What the agent does with a message.
    package enum Verdict: Sendable, Equatable {
        /// Welcomed: forget every sample up to `acknowledged` (0: none), number on after
        /// `numberAfter` if it is above the agent's own numbering, and send what follows
        /// `acknowledged`.
        case welcomed(acknowledged: UInt64, numberAfter: UInt64?)
        /// Forget every sample up to this sequence.
        case acknowledged(UInt64)
        /// `ack` 0: the gateway holds the samples and waits for its receiver before acknowledging.
        case keptAlive
        /// The gateway refused us; its reason.
        case refused(String)
        /// The gateway broke the protocol; what it did.
        case protocolError(String)
    }

    package private(set) var phase = Phase.awaitingWelcome
    /// The highest sequence the gateway may acknowledge: the highest sent on this connection, or
    /// the welcome's `last_seq`.
    package private(set) var highestSent: UInt64 = 0
    /// How far above the agent's own numbering a `last_seq` may be believed.
    package let tailAllowance: UInt64

    package init(tailAllowance: UInt64) {
        self.tailAllowance = tailAllowance
    }

    /// Notes that samples up to `sequence` are about to be written to this connection. Called
    /// before the write, so that an ack can never overtake it.
    package mutating func willSend(upTo sequence: UInt64) {
        highestSent = max(highestSent, sequence)
    }

    /// Judges `message`, given the highest sequence the agent has numbered so far.
    package mutating func receive(_ message: GatewayMessage, highestNumbered: UInt64) -> Verdict {
        switch (phase, message) {
        case (.ended, _):
            return .protocolError("message after the conversation ended")
        case (_, .error(let reason)):
            phase = .ended
            return .refused(reason)
        case (.awaitingWelcome, .welcome(_, let lastSequence)):
            // 0 is taken as "none": older gateways sent it for a session they knew without samples.
            let last = lastSequence ?? 0
            if last <= highestNumbered {
                phase = .welcomed
                highestSent = last
                return .welcomed(acknowledged: last, numberAfter: nil)
            }
            // Checked: highestNumbered < last here, so the subtraction cannot wrap.
            guard last - highestNumbered <= tailAllowance else {
                return end(
                    "welcome says the gateway holds sequence \(last), but this agent has numbered only up to \(highestNumbered)"
                )
            }
            phase = .welcomed
            highestSent = last
            return .welcomed(acknowledged: last, numberAfter: last)
        case (.awaitingWelcome, .ack(let sequence)):
            return end("ack for sequence \(sequence) before the welcome")
        case (.welcomed, .welcome):
            return end("a second welcome on the same connection")
        case (.welcomed, .ack(0)):
            return .keptAlive
        case (.welcomed, .ack(let sequence)):
            guard sequence <= highestSent else {
                return end("ack for sequence \(sequence), but the highest sent is \(highestSent)")
            }
            return .acknowledged(sequence)
        }
    }

    private mutating func end(_ reason: String) -> Verdict {
        phase = .ended
        return .protocolError(reason)
    }
}
