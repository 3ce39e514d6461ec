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
    case reportFormatRefused = "legacy_refused"
    /// An identified agent that went silent for longer than `agent-timeout`.
    case idleTimeout = "idle_timeout"
    /// `max-connections` open connections already.
    case tooManyConnections = "too_many_connections"
    /// `max-connections-per-address` open connections from this source address already.
    case tooManyFromAddress = "too_many_from_address"
    /// Closed before its hello, at `max-connections`, to make room for a newer connection.
    case replaced
    /// `max-agents` distinct agents known already, and this is a new one.
    case tooManyAgents = "too_many_agents"
    /// `max-anonymous-agents` report-format peers and not yet delivering agents held already, and this is a new one.
    case tooManyAnonymousAgents = "too_many_anonymous_agents"
    /// The agent connected again on another connection: the newest connection wins, the older is closed.
    case superseded
    /// A reload removed or changed the token this agent had presented.
    case tokenRevoked = "token_revoked"
    /// A message begun but not finished within `hello-timeout` (a peer trickling bytes).
    case messageTimeout = "message_timeout"
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
    private let clamped = Atomic<UInt64>(0)
    private let httpRefused = Atomic<UInt64>(0)
    private let httpReplaced = Atomic<UInt64>(0)
    let dropped = Mutex<[SampleDropReason: UInt64]>([:])
    // Errors are rare next to samples: one lock is cheaper to read than it is worth avoiding.
    let errors = Mutex<[PeerErrorReason: UInt64]>([:])

    public init() {}

    func connectionAccepted() {
        accepted.wrappingAdd(1, ordering: .relaxed)
    }

    func peerError(_ reason: PeerErrorReason) {
        errors.withLock { $0[reason, default: 0] += 1 }
    }

    func sampleEvent(_ event: SampleEvent) {
        switch event {
        case .clampedTimestamp: clamped.wrappingAdd(1, ordering: .relaxed)
        case .dropped(let reason): dropped.withLock { $0[reason, default: 0] += 1 }
        }
    }

    func httpConnectionRefused() {
        httpRefused.wrappingAdd(1, ordering: .relaxed)
    }

    func httpConnectionReplaced() {
        httpReplaced.wrappingAdd(1, ordering: .relaxed)
    }

    public var timestampsClamped: UInt64 { clamped.load(ordering: .relaxed) }

    public func samplesDropped(_ reason: SampleDropReason) -> UInt64 {
        dropped.withLock { $0[reason, default: 0] }
    }

    public var connectionsAccepted: UInt64 { accepted.load(ordering: .relaxed) }
}

extension GatewayCounters {
    /// The counters as families for `/metrics`.
    func families() -> [MetricFamily] {
        let errors = errors.withLock { $0 }
        let dropped = dropped.withLock { $0 }
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
            MetricFamily(
                name: "monitord_samples_dropped_total",
                help: "Samples from agents not stored, by reason (duplicate: already held; superseded: the agent "
                    + "had connected again elsewhere).",
                type: .counter,
                samples: SampleDropReason.allCases.map { reason in
                    MetricSample(Double(dropped[reason, default: 0]), labels: ["reason": reason.rawValue])
                }
            ),
            MetricFamily(
                name: "monitord_sample_timestamps_clamped_total",
                help:
                    "Samples stamped further ahead than clock-skew-tolerance, kept with their time of arrival (or just after their agent's newest timestamp).",
                type: .counter,
                samples: [MetricSample(Double(timestampsClamped))]
            ),
            MetricFamily(
                name: "monitord_http_connections_refused_total",
                help:
                    "Connections on the HTTP port answered 503 because max-http-connections were open, each in the middle of a request.",
                type: .counter,
                samples: [MetricSample(Double(httpRefused.load(ordering: .relaxed)))]
            ),
            MetricFamily(
                name: "monitord_http_connections_replaced_total",
                help:
                    "Keep-alive connections on the HTTP port closed while waiting for a request, to admit a new connection when max-http-connections were open.",
                type: .counter,
                samples: [MetricSample(Double(httpReplaced.load(ordering: .relaxed)))]
            ),
        ]
    }
}
