import GatewayWAL

extension AgentStore {
    /// Replays one record of the write-ahead log, at start and before the agent port opens: as if the
    /// agent had connected with the record's session (when it is not the one held), delivered the
    /// sample at its arrival time, and gone. The reconnecting agent's welcome then carries its last
    /// sequence, and `/metrics` its latest values and counters.
    func restore(_ record: WALRecord) {
        if session(of: record.agent) != record.session {
            let connection = connected(
                agent: record.agent, session: record.session, dialect: .native, remoteAddress: "",
                now: record.arrival)
            disconnected(agent: record.agent, connection: connection.id, now: record.arrival)
        }
        _ = self.record(record.sample, agent: record.agent, session: record.session, now: record.arrival)
    }
}
