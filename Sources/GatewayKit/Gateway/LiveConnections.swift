import MonitorConfig
import Synchronization

/// The agent-port connections that have identified themselves, so that the gateway can close one from
/// outside its own task: the older connection of an agent that connected again (newest wins), or an
/// agent whose token a reload revoked. Each closes with an error line, like every other refusal.
final class LiveConnections: Sendable {
    /// Sends an error line with this reason and closes the connection (from any thread).
    typealias Closer = @Sendable (PeerErrorReason, String) -> Void

    private struct Entry {
        var agent: String
        var token: String?
        var close: Closer
    }

    private let entries = Mutex<[ConnectionID: Entry]>([:])

    func register(_ id: ConnectionID, agent: String, token: String?, close: @escaping Closer) {
        entries.withLock { $0[id] = Entry(agent: agent, token: token, close: close) }
    }

    func unregister(_ id: ConnectionID) {
        _ = entries.withLock { $0.removeValue(forKey: id) }
    }

    /// Closes `id` with an error line, if it is still open.
    func close(_ id: ConnectionID, _ reason: PeerErrorReason, _ text: String) {
        let entry = entries.withLock { $0.removeValue(forKey: id) }
        entry?.close(reason, text)
    }

    /// Closes every native connection whose presented token `tokens` no longer accepts; returns their agents.
    @discardableResult
    func revoke(notAcceptedBy tokens: AgentTokens) -> [String] {
        let revoked = entries.withLock { entries in
            let ids = entries.filter { !tokens.verify(agent: $0.value.agent, token: $0.value.token) }.map(\.key)
            return ids.compactMap { entries.removeValue(forKey: $0) }
        }
        for entry in revoked {
            entry.close(.tokenRevoked, "agent \(entry.agent): its token was revoked (tokens-file reloaded)")
        }
        return revoked.map(\.agent).sorted()
    }

    var count: Int { entries.withLock { $0.count } }
}
