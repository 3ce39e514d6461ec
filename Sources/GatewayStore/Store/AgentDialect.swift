/// Which wire format an agent speaks, kept so that operators can tell upgraded hosts from ones that
/// still speak the report format.
public enum AgentDialect: String, Sendable {
    /// The native protocol: the agent announces a name and a session and numbers its samples.
    case native
    /// The report format: bare JSON objects, no name, no numbering; labelled `agent_<n>` by the gateway.
    /// Its raw value is what `/api/v1/agents` and the connection log have always said, and stays.
    case reportFormat = "legacy"
}
