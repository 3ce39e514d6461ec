import Synchronization

/// Counts open connections in total and, for those that have not identified themselves yet, per
/// source address, and refuses those beyond `max-connections` / `max-connections-per-address`.
///
/// The per-address bound is meant for anonymous floods from one host. A whole fleet may share one
/// address (a corporate NAT), so a native agent whose hello was accepted stops counting against its
/// address: only the total bounds identified agents.
final class ConnectionLimiter: Sendable {
    private struct Counts {
        var total = 0
        var byAddress: [String: Int] = [:]

        mutating func releaseAddress(_ address: String) {
            let left = byAddress[address, default: 1] - 1
            // Drop the entry at zero: the map must not grow with every address ever seen.
            byAddress[address] = left > 0 ? left : nil
        }
    }

    private let counts = Mutex(Counts())

    /// Admits a connection from `address` (counted until ``release(_:identified:)``), or says why not.
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

    /// The connection from `address` has identified itself: it no longer counts against its address.
    func identified(_ address: String) {
        counts.withLock { $0.releaseAddress(address) }
    }

    /// The connection closed; `identified` says whether ``identified(_:)`` was called for it.
    func release(_ address: String, identified: Bool = false) {
        counts.withLock { counts in
            counts.total -= 1
            if !identified { counts.releaseAddress(address) }
        }
    }

    var openConnections: Int { counts.withLock { $0.total } }

    /// Connections from `address` still counted against it.
    func unidentified(from address: String) -> Int { counts.withLock { $0.byAddress[address, default: 0] } }
}
