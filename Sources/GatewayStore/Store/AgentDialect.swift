/// Which wire format an agent speaks, kept so that operators can tell upgraded hosts from report-era ones.
public enum AgentDialect: String, Sendable {
    /// The native protocol: the agent announces a name and a session and numbers its samples.
    case native
    /// The report's format: bare JSON objects, no name, no numbering; labelled `agent_<n>` by the gateway.
    case legacy
}
