import MonitorModel
import Synchronization

/// Why the gateway closed a peer's connection: the `reason` label of `monitord_peer_errors_total`.
public enum PeerErrorReason: String, Sendable, CaseIterable {
    /// No hello (or first report-format object) within `hello-timeout`.
    case helloTimeout = "hello_timeout"
    /// An object larger than `max-message-size`, or bytes that are not JSON objects.
    case framing
    /// A well-framed object the protocol does not accept (bad JSON, bad values, unknown type, ...).
    case invalidMessage = "invalid_message"
    /// A peer speaking the report's format while `allow-legacy-agents = no`.
    case legacyRefused = "legacy_refused"
    /// An identified agent that went silent for longer than `agent-timeout`.
    case idleTimeout = "idle_timeout"
    /// `max-connections` open connections already.
    case tooManyConnections = "too_many_connections"
    /// `max-connections-per-address` open connections from this source address already.
    case tooManyFromAddress = "too_many_from_address"
    /// `max-agents` distinct agents known already, and this is a new one.
    case tooManyAgents = "too_many_agents"
    /// A native hello without the token `tokens-file` holds for its name.
    case unauthenticated
    /// A native hello over plain TCP where the gateway has TLS configured.
    case tlsRequired = "tls_required"
    /// A TLS handshake that failed (bad client certificate, protocol mismatch, garbage).
    case tlsHandshake = "tls_handshake"
}

/// Counters the gateway keeps about itself, exported on `/metrics` next to the agents' series.
public final class GatewayCounters: Sendable {
    private let accepted = Atomic<UInt64>(0)
    // Errors are rare next to samples: one lock is cheaper to read than it is worth avoiding.
    let errors = Mutex<[PeerErrorReason: UInt64]>([:])

    public init() {}

    func connectionAccepted() {
        accepted.wrappingAdd(1, ordering: .relaxed)
    }

    func peerError(_ reason: PeerErrorReason) {
        errors.withLock { $0[reason, default: 0] += 1 }
    }

    public var connectionsAccepted: UInt64 { accepted.load(ordering: .relaxed) }
}

extension GatewayCounters {
    /// The counters as families for `/metrics`.
    func families() -> [MetricFamily] {
        let errors = errors.withLock { $0 }
        return [
            MetricFamily(
                name: "monitord_connections_accepted_total",
                help: "Connections accepted on the agent port, whatever became of them.",
                type: .counter,
                samples: [MetricSample(Double(connectionsAccepted))]
            ),
            MetricFamily(
                name: "monitord_peer_errors_total",
                help: "Peers on the agent port refused or closed by the gateway, by reason.",
                type: .counter,
                samples: PeerErrorReason.allCases.map { reason in
                    MetricSample(Double(errors[reason, default: 0]), labels: ["reason": reason.rawValue])
                }
            ),
        ]
    }
}
