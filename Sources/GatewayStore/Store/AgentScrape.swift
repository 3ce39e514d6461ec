package import MonitorModel

/// One scrape's picture of the agents, in name order, as `/metrics` needs it (``AgentStore/scrape(now:isKept:)``):
/// the judgement of the moment for every agent, the figures only for those whose kept lines are out of date.
package struct AgentScrape: Sendable {
    /// An agent as the page lists it: where its kept lines are, and what is decided at scrape time.
    package struct Agent: Sendable {
        /// The agent's slot in the store, stable while it is known (see ``NameOrderedRecords``).
        package var slot: Int
        /// The version of the record at the scrape; lines rendered from this version are current.
        package var version: UInt64
        /// `monitord_agent_up`'s value.
        package var up: Bool
        /// Fresh with a sample: its lines of the report's four families are on the page.
        package var exportsReport: Bool
    }

    /// An agent whose lines must be rendered (again): the figures they are rendered from.
    package struct Changed: Sendable {
        package var slot: Int
        package var version: UInt64
        package var name: String
        package var latest: Sample?
        package var lastSeen: Double?
        package var samplesReceived: UInt64
    }

    /// Every known agent, in name order.
    package var agents: [Agent] = []
    /// The agents among them whose kept lines are not of their current version.
    package var changed: [Changed] = []
}
