import NIOCore
import Synchronization

/// The HTTP port's open connections, at most `max-http-connections`, and which of them are waiting
/// for a request (between requests, or still sending one).
///
/// Keep-alive connections stay open between requests, so a full pool is mostly connections doing
/// nothing. A newcomer that finds the pool full takes the place of a waiting connection, which is
/// closed (nginx does the same with keep-alive connections when it runs short), rather than being
/// answered 503: otherwise 64 clients that keep connections open, or trickle their requests, hold
/// Prometheus off the port (audits 5 and 6). Connections that never had a request answered go
/// first, the one waiting longest among them: those are what a flood opens, while a scraper's
/// keep-alive connection has a history of answered requests (audit 6, 06: churn otherwise closed
/// it between every two scrapes). Only when every connection is being answered is a newcomer
/// refused. A client whose waiting connection was closed opens another, as HTTP clients do for a
/// keep-alive connection the server closed.
final class HTTPConnectionPool: Sendable {
    /// A connection, as the pool knows it: the identity of its channel.
    typealias Connection = ObjectIdentifier

    private struct Member {
        let close: @Sendable () -> Void
        /// When it last began waiting for a request (its start, or the end of its last response);
        /// `nil` while a request is being answered.
        var waitingSince: NIODeadline?
        /// Whether a request of it has been answered.
        var answered = false
    }

    private let members = Mutex<[Connection: Member]>([:])

    enum Admission: Equatable {
        case admitted
        /// Admitted in the place of a waiting connection, closed for it.
        case replacing
        case refused
    }

    /// Takes `connection` into the pool if there is room, or in the place of a waiting connection
    /// (closed here with its `close`), or refuses it when every member is being answered.
    func admit(_ connection: Connection, maximum: Int, close: @escaping @Sendable () -> Void) -> Admission {
        let (admission, closing) = members.withLock { members -> (Admission, (@Sendable () -> Void)?) in
            var outcome: (Admission, (@Sendable () -> Void)?) = (.admitted, nil)
            if members.count >= maximum {
                // Never answered before answered, then the longest waiting.
                let candidates = members.compactMap { key, member in
                    member.waitingSince.map { (key: key, rank: (member.answered ? 1 : 0, $0), close: member.close) }
                }
                guard let victim = candidates.min(by: { $0.rank < $1.rank }) else { return (.refused, nil) }
                members[victim.key] = nil
                outcome = (.replacing, victim.close)
            }
            members[connection] = Member(close: close, waitingSince: .now())
            return outcome
        }
        closing?()
        return admission
    }

    /// `connection` has a whole request to answer: it is not closed for a newcomer until it is answered.
    func requestStarted(on connection: Connection) {
        members.withLock { $0[connection]?.waitingSince = nil }
    }

    /// `connection` answered its request and waits for the next (nothing if it was replaced: it is closing).
    func requestAnswered(on connection: Connection) {
        members.withLock { members in
            members[connection]?.waitingSince = .now()
            members[connection]?.answered = true
        }
    }

    /// `connection` closed (or was given up before it was served); nothing if it was replaced already.
    func remove(_ connection: Connection) {
        _ = members.withLock { $0.removeValue(forKey: connection) }
    }

    var count: Int { members.withLock { $0.count } }
}
