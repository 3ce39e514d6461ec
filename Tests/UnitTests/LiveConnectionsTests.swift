import Dispatch
import GatewayConfig
import MonitorConfig
import Synchronization
import Testing

@testable import GatewayKit
@testable import GatewayStore

/// Token revocation against admission (issue 11, audit finding gateway/07): a reload replacing the token
/// set and hellos registering under the old one, from many threads at once. Every registration must be
/// either refused or closed by the reload; none may survive it.
@Suite("Live connections and token revocation")
struct LiveConnectionsTests {
    static let old = "old-token-0123456789abcdef"
    static let new = "new-token-0123456789abcdef"

    static func tokens(_ token: String) throws -> AgentTokens {
        try AgentTokens.parse("racer \(token)\n", file: "tokens")
    }

    @Test("a token no longer in force is refused at registration; one in force is closed by the replacement")
    func registerAndReplace() throws {
        let live = LiveConnections(tokens: try Self.tokens(Self.old))
        let closed = Mutex<[String]>([])
        #expect(
            live.register(ConnectionID(rawValue: 1), agent: "racer", token: Self.old) { _, text in
                closed.withLock { $0.append(text) }
            })
        #expect(live.replaceTokens(with: try Self.tokens(Self.new)) == ["racer"])
        #expect(closed.withLock { $0.count } == 1 && live.count == 0)
        #expect(!live.register(ConnectionID(rawValue: 2), agent: "racer", token: Self.old) { _, _ in })
        #expect(live.register(ConnectionID(rawValue: 3), agent: "racer", token: Self.new) { _, _ in })
        // No tokens-file any more: every token is accepted, nobody is closed.
        #expect(live.replaceTokens(with: nil).isEmpty)
        #expect(live.register(ConnectionID(rawValue: 4), agent: "racer", token: nil) { _, _ in })
    }

    @Test("registrations racing a replacement from four threads: none presenting the old token survives")
    func racingRegistrations() throws {
        let newTokens = try Self.tokens(Self.new)
        for round in 0..<20 {
            let live = LiveConnections(tokens: try Self.tokens(Self.old))
            let outcome = Mutex((registered: Set<UInt64>(), closed: Set<UInt64>()))
            let group = DispatchGroup()
            for thread in 0..<4 {
                DispatchQueue.global().async(group: group) {
                    for index in 0..<500 {
                        let id = UInt64(round * 1_000_000 + thread * 1000 + index)
                        let registered = live.register(ConnectionID(rawValue: id), agent: "racer", token: Self.old) {
                            _, _ in outcome.withLock { _ = $0.closed.insert(id) }
                        }
                        if registered { outcome.withLock { _ = $0.registered.insert(id) } }
                    }
                }
                if thread == 1 { live.replaceTokens(with: newTokens) }
            }
            group.wait()
            let (registered, closed) = outcome.withLock { ($0.registered, $0.closed) }
            #expect(registered == closed, "round \(round): \(registered.subtracting(closed).count) survived")
            #expect(live.count == 0)
        }
    }
}
