import NIOCore
import Synchronization

/// The HTTP port's open connections, at most `max-http-connections`, and which of them are waiting
/// between requests.
///
/// Keep-alive connections stay open between requests, so a full pool is mostly connections doing
/// nothing. A newcomer that finds the pool full takes the place of the connection that has waited
/// longest, which is closed (nginx does the same with keep-alive connections when it runs short),
/// rather than being answered 503: otherwise 64 clients that keep connections open and ask now and
/// then hold Prometheus off the port (audit 5, finding 03). Only when every connection is in the
/// middle of a request is a newcomer refused. A client whose waiting connection was closed opens
/// another, as HTTP clients do for a keep-alive connection the server closed.
final class HTTPConnectionPool: Sendable {
    private struct Member {
        let channel: any Channel
        /// When it last began waiting for a request (its start, or the end of its last response);
        /// `nil` while a request is being read or answered.
        var waitingSince: NIODeadline?
    }

    private let members = Mutex<[ObjectIdentifier: Member]>([:])

    enum Admission {
        case admitted
        /// Admitted in the place of this connection, closed for it.
        case replacing(any Channel)
        case refused
    }

    /// Takes `channel` into the pool if there is room, or in the place of the connection that has
    /// waited longest for a request (closed here), or refuses it when every member is busy.
    func admit(_ channel: any Channel, maximum: Int) -> Admission {
        let admission = members.withLock { members -> Admission in
            var outcome = Admission.admitted
            if members.count >= maximum {
                let longestWaiting = members.compactMap { key, member in
                    member.waitingSince.map { (key: key, since: $0, channel: member.channel) }
                }.min { $0.since < $1.since }
                guard let longestWaiting else { return .refused }
                members[longestWaiting.key] = nil
                outcome = .replacing(longestWaiting.channel)
            }
            members[ObjectIdentifier(channel)] = Member(channel: channel, waitingSince: .now())
            return outcome
        }
        if case .replacing(let closed) = admission { closed.close(promise: nil) }
        return admission
    }

    /// A request has begun on `channel`: it is not closed for a newcomer until it is answered.
    func requestStarted(on channel: any Channel) {
        mark(channel, waitingSince: nil)
    }

    /// `channel` answered its request and waits for the next.
    func requestAnswered(on channel: any Channel) {
        mark(channel, waitingSince: .now())
    }

    /// `channel` closed (or was given up before it was served); nothing if it was replaced already.
    func remove(_ channel: any Channel) {
        _ = members.withLock { $0.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    var count: Int { members.withLock { $0.count } }

    private func mark(_ channel: any Channel, waitingSince: NIODeadline?) {
        members.withLock { members in
            // A replaced connection stays out: it is closing.
            members[ObjectIdentifier(channel)]?.waitingSince = waitingSince
        }
    }
}
