import Synchronization

/// Counts open connections in total and, for those that have not identified themselves yet, per
/// source address, and refuses those beyond `max-connections` / `max-connections-per-address`.
///
/// The per-address bound is meant for anonymous floods from one host. A whole fleet may share one
/// address (a corporate NAT), so a native agent whose hello was accepted stops counting against its
/// address: only the total bounds identified agents.
///
/// When the total is reached, a newcomer takes the place of the oldest connection that has not
/// identified itself, which is closed for it (as the HTTP port's pool does): otherwise sockets that
/// never say hello, spread over a few addresses and re-opened before `hello-timeout`, keep every
/// new or reconnecting agent out for as long as the flood lasts (audit 7, 02). Oldest first gives
/// each connection as long to say hello as the flood takes to open `max-connections` others; an
/// agent says it within a round trip. Only when every connection has identified itself is a
/// newcomer refused.
final class ConnectionLimiter: Sendable {
    /// A connection, as the limiter knows it: numbered in the order they were admitted.
    struct Ticket: Sendable, Hashable {
        fileprivate let number: UInt64
    }

    enum Admission: Sendable, Equatable {
        case admitted(Ticket)
        /// Admitted in the place of the oldest connection that had not identified itself, whose
        /// `replace` was called.
        case replacing(Ticket)
        case refused(PeerErrorReason)
    }

    private struct Unidentified {
        let address: String
        let replace: @Sendable () -> Void
    }

    private struct Counts {
        var total = 0
        var byAddress: [String: Int] = [:]
        var unidentified: [UInt64: Unidentified] = [:]
        var nextNumber: UInt64 = 0
        /// No unidentified connection has a lower number: the search for the oldest starts here and
        /// only moves forward, so each number is passed over once.
        var oldestCandidate: UInt64 = 0

        mutating func releaseAddress(_ address: String) {
            let left = byAddress[address, default: 1] - 1
            // Drop the entry at zero: the map must not grow with every address ever seen.
            byAddress[address] = left > 0 ? left : nil
        }

        mutating func takeOldestUnidentified() -> Unidentified? {
            while oldestCandidate < nextNumber {
                defer { oldestCandidate += 1 }
                if let oldest = unidentified.removeValue(forKey: oldestCandidate) { return oldest }
            }
            return nil
        }
    }

    private let counts = Mutex(Counts())

    /// Admits a connection from `address` (counted until ``release(_:identified:)``), possibly in
    /// the place of the oldest unidentified one, or says why not. `replace` is called (outside the
    /// limiter's lock) if this connection is later replaced before it identified itself.
    func admit(
        _ address: String, maximumTotal: Int, maximumPerAddress: Int, replace: @escaping @Sendable () -> Void
    ) -> Admission {
        let (admission, replaced) = counts.withLock { counts -> (Admission, Unidentified?) in
            if counts.byAddress[address, default: 0] >= maximumPerAddress {
                return (.refused(.tooManyFromAddress), nil)
            }
            var replaced: Unidentified?
            if counts.total >= maximumTotal {
                guard let oldest = counts.takeOldestUnidentified() else { return (.refused(.tooManyConnections), nil) }
                counts.total -= 1
                counts.releaseAddress(oldest.address)
                replaced = oldest
            }
            let ticket = Ticket(number: counts.nextNumber)
            counts.nextNumber += 1
            counts.total += 1
            counts.byAddress[address, default: 0] += 1
            counts.unidentified[ticket.number] = Unidentified(address: address, replace: replace)
            return (replaced == nil ? .admitted(ticket) : .replacing(ticket), replaced)
        }
        replaced?.replace()
        return admission
    }

    /// The connection has identified itself: it no longer counts against its address and is not
    /// replaced. `false` if it was replaced already (it is being closed).
    func identified(_ ticket: Ticket) -> Bool {
        counts.withLock { counts in
            guard let connection = counts.unidentified.removeValue(forKey: ticket.number) else { return false }
            counts.releaseAddress(connection.address)
            return true
        }
    }

    /// The connection closed; `identified` says whether ``identified(_:)`` accepted it. Nothing for
    /// a connection that was replaced: it was counted off then.
    func release(_ ticket: Ticket, identified: Bool) {
        counts.withLock { counts in
            if identified {
                counts.total -= 1
            } else if let connection = counts.unidentified.removeValue(forKey: ticket.number) {
                counts.total -= 1
                counts.releaseAddress(connection.address)
            }
        }
    }

    var openConnections: Int { counts.withLock { $0.total } }
}
