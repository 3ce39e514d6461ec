import GatewayStore
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

    /// After a replay: the log holds days of records, so agents it brings back may be long past
    /// `forget-after`, or more than `max-agents`. Those past `forget-after` (judged by their last
    /// record's arrival) are forgotten at once, then the least recently active beyond `maximumAgents`,
    /// so a restart never brings retired hosts back nor locks out new ones. Returns the names forgotten
    /// for each reason.
    func settleAfterRestore(now: Double, maximumAgents: Int) -> (expired: [String], overLimit: [String]) {
        let expired = expire(now: now)
        let overLimit = forgetLeastRecentlyActive(keeping: maximumAgents)
        return (expired, overLimit)
    }
}
