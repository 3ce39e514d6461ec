import GatewayConfig
import GatewayStore
import MonitorConfig
import Synchronization

/// The agent-port connections that have identified themselves, so that the gateway can close one from
/// outside its own task: the older connection of an agent that connected again (newest wins), or an
/// agent whose token a reload revoked. Each closes with an error line, like every other refusal.
///
/// It also holds the token set in force for admission. Registering checks the presented token against
/// it and a reload replaces it, both under one lock: a hello judged by the old set while the reload
/// runs is either registered before the replacement (and closed by it) or refused at registration,
/// so no connection presenting a revoked token outlives the reload.
final class LiveConnections: Sendable {
    /// Sends an error line with this reason and closes the connection (from any thread).
    typealias Closer = @Sendable (PeerErrorReason, String) -> Void

    private struct Entry {
        var agent: String
        var token: String?
        var dialect: AgentDialect
        var usesTLS: Bool
        var close: Closer
    }

    private struct State {
        var entries: [ConnectionID: Entry] = [:]
        /// `nil`: no tokens-file, every token is accepted.
        var tokens: AgentTokens?
    }

    private let state: Mutex<State>

    init(tokens: AgentTokens? = nil) {
        state = Mutex(State(tokens: tokens))
    }

    /// Registers a connection, unless it is native and the token it presented is not accepted by the set
    /// in force (a reload revoked it after its hello was checked): then returns false and the caller
    /// refuses it. Report-format peers present no token.
    func register(
        _ id: ConnectionID, agent: String, token: String?, dialect: AgentDialect = .native, usesTLS: Bool = false,
        close: @escaping Closer
    ) -> Bool {
        state.withLock { state in
            if dialect == .native, let tokens = state.tokens, !tokens.verify(agent: agent, token: token) {
                return false
            }
            state.entries[id] = Entry(agent: agent, token: token, dialect: dialect, usesTLS: usesTLS, close: close)
            return true
        }
    }

    func unregister(_ id: ConnectionID) {
        _ = state.withLock { $0.entries.removeValue(forKey: id) }
    }

    /// Closes `id` with an error line, if it is still open.
    func close(_ id: ConnectionID, _ reason: PeerErrorReason, _ text: String) {
        let entry = state.withLock { $0.entries.removeValue(forKey: id) }
        entry?.close(reason, text)
    }

    /// Puts `tokens` in force (`nil`: no tokens-file) and closes every native connection whose presented
    /// token it no longer accepts; returns their agents, sorted.
    @discardableResult
    func replaceTokens(with tokens: AgentTokens?) -> [String] {
        let revoked = state.withLock { state in
            state.tokens = tokens
            guard let tokens else { return [Entry]() }
            let ids = state.entries.filter {
                $0.value.dialect == .native && !tokens.verify(agent: $0.value.agent, token: $0.value.token)
            }.map(\.key)
            return ids.compactMap { state.entries.removeValue(forKey: $0) }
        }
        for entry in revoked {
            entry.close(.tokenRevoked, Self.revocation(of: entry.agent))
        }
        return revoked.map(\.agent).sorted()
    }

    /// Closes every connection a reloaded configuration would not admit (audit 7, 07): a native agent
    /// over plain TCP once TLS is required, a report-format peer once `allow-legacy-agents = no`, with
    /// the error line a new one gets. Returns how many were closed.
    @discardableResult
    func closeInadmissible(requireTLS: Bool, allowReportFormat: Bool) -> Int {
        let closing = state.withLock { state in
            let ids = state.entries.filter { _, entry in
                entry.dialect == .native ? requireTLS && !entry.usesTLS : !allowReportFormat
            }.map(\.key)
            return ids.compactMap { state.entries.removeValue(forKey: $0) }
        }
        for entry in closing {
            if entry.dialect == .native {
                entry.close(.tlsRequired, PeerSession.tlsRequiredText)
            } else {
                entry.close(.reportFormatRefused, PeerSession.reportFormatRefusedText)
            }
        }
        return closing.count
    }

    /// The error line of a connection whose token was revoked.
    static func revocation(of agent: String) -> String {
        "agent \(agent): its token was revoked (tokens-file reloaded)"
    }

    var count: Int { state.withLock { $0.entries.count } }
}
