import Synchronization
import Testing

@testable import GatewayKit

/// Who makes room when the HTTP port is full (audits 5 and 6): a waiting connection, those never
/// answered first, never one being answered; a 503 only when every connection is being answered.
struct HTTPConnectionPoolTests {
    /// A connection: its identity, and whether the pool closed it.
    final class Peer: Sendable {
        private let closing = Atomic<Bool>(false)
        var id: HTTPConnectionPool.Connection { ObjectIdentifier(self) }
        var closed: Bool { closing.load(ordering: .relaxed) }
        func close() { closing.store(true, ordering: .relaxed) }
    }

    private func admit(_ peer: Peer, to pool: HTTPConnectionPool, maximum: Int) -> HTTPConnectionPool.Admission {
        pool.admit(peer.id, maximum: maximum) { peer.close() }
    }

    @Test func aNewcomerReplacesTheLongestWaitingNeverAnsweredConnectionFirst() {
        let pool = HTTPConnectionPool()
        let held = (0..<3).map { _ in Peer() }
        for peer in held { #expect(admit(peer, to: pool, maximum: 3) == .admitted) }
        // The first has a history of answered requests (a scraper's keep-alive connection); the
        // other two never had a request answered (a flood), the second waiting longer.
        pool.requestStarted(on: held[0].id)
        pool.requestAnswered(on: held[0].id)
        #expect(admit(Peer(), to: pool, maximum: 3) == .replacing)
        #expect(held.map { $0.closed } == [false, true, false])
        #expect(pool.count == 3)
        #expect(admit(Peer(), to: pool, maximum: 3) == .replacing)
        #expect(held[2].closed, "then the other never-answered one")
        // The newcomers never had a request answered either: they go before the scraper.
        #expect(admit(Peer(), to: pool, maximum: 3) == .replacing)
        #expect(!held[0].closed, "the answered connection goes last")
    }

    @Test func connectionsBeingAnsweredAreNeverReplacedAndThenANewcomerIsRefused() {
        let pool = HTTPConnectionPool()
        let held = (0..<2).map { _ in Peer() }
        for peer in held {
            _ = admit(peer, to: pool, maximum: 2)
            pool.requestStarted(on: peer.id)
        }
        #expect(admit(Peer(), to: pool, maximum: 2) == .refused)
        #expect(held.allSatisfy { !$0.closed })
        // Answered, it waits again and can make room.
        pool.requestAnswered(on: held[1].id)
        #expect(admit(Peer(), to: pool, maximum: 2) == .replacing)
        #expect(held[1].closed)
    }

    @Test func aReplacedConnectionStaysOutAndItsEndFreesNoOtherPlace() {
        let pool = HTTPConnectionPool()
        let first = Peer()
        _ = admit(first, to: pool, maximum: 1)
        let second = Peer()
        #expect(admit(second, to: pool, maximum: 1) == .replacing)
        // The replaced connection's own handling ends later: it must neither come back nor free
        // the newcomer's place.
        pool.requestAnswered(on: first.id)
        pool.remove(first.id)
        #expect(pool.count == 1)
        #expect(admit(Peer(), to: pool, maximum: 1) == .replacing, "the place is still the newcomer's")
        pool.remove(second.id)
        #expect(pool.count == 1)
    }
}
