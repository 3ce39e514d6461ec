import GatewayStore
import GatewayWAL

extension AgentStore {
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
