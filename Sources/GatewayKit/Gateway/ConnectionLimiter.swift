import Synchronization

/// Counts open agent-port connections, in total and per source address, and refuses those
/// beyond `max-connections` / `max-connections-per-address`.
final class ConnectionLimiter: Sendable {
    private struct Counts {
        var total = 0
        var byAddress: [String: Int] = [:]
    }

    private let counts = Mutex(Counts())

    /// Admits a connection from `address` (counted until ``release(_:)``), or says why not.
    func admit(_ address: String, maximumTotal: Int, maximumPerAddress: Int) -> PeerErrorReason? {
        counts.withLock { counts in
            if counts.total >= maximumTotal { return .tooManyConnections }
            let fromAddress = counts.byAddress[address, default: 0]
            if fromAddress >= maximumPerAddress { return .tooManyFromAddress }
            counts.total += 1
            counts.byAddress[address] = fromAddress + 1
            return nil
        }
    }

    func release(_ address: String) {
        counts.withLock { counts in
            counts.total -= 1
            let left = counts.byAddress[address, default: 1] - 1
            // Drop the entry at zero: the map must not grow with every address ever seen.
            counts.byAddress[address] = left > 0 ? left : nil
        }
    }

    var openConnections: Int { counts.withLock { $0.total } }
}
