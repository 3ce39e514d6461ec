public import GatewayStore

/// How the status page classifies an agent, in the words an operator uses.
public enum AgentHealth: String, Sendable, CaseIterable {
    /// Connected and on time: `monitord_agent_up` is 1. A just-(re)connected agent counts as up until its first
    /// sample is due, exactly as on `/metrics`, so the page and Prometheus never disagree.
    case up
    /// Connected, but its samples stopped arriving within `agent-timeout`: `monitord_agent_up` is 0 while the
    /// connection is still open (a hung agent, or a network that drops packets without closing).
    case late
    /// Disconnected, and not yet forgotten.
    case down

    /// The state of one snapshot.
    public init(_ agent: AgentSnapshot) {
        if !agent.connected {
            self = .down
        } else {
            self = agent.up ? .up : .late
        }
    }
}

/// The number of agents in each state, shown at the top of the page and in the JSON.
public struct AgentHealthCounts: Sendable, Equatable {
    public var total = 0
    public var up = 0
    public var late = 0
    public var down = 0

    public init(_ agents: [AgentSnapshot]) {
        for agent in agents {
            total += 1
            switch AgentHealth(agent) {
            case .up: up += 1
            case .late: late += 1
            case .down: down += 1
            }
        }
    }
}

extension AgentDialect {
    /// The protocol name shown on the status page.
    var displayName: String {
        switch self {
        case .native: "native"
        case .reportFormat: "report format"
        }
    }
}

/// The transport an agent's connection uses, as the status page and `/api/v1/agents` name it.
enum AgentTransport {
    static func name(_ snapshot: AgentSnapshot) -> String { snapshot.usesTLS ? "tls" : "tcp" }
}
