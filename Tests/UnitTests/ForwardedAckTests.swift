import Synchronization
import Testing

@testable import GatewayKit

/// `acknowledge = forwarded`: the mapping from remote write's confirmed log position to each
/// connection's cumulative ack. The rule every test checks: a sequence is acknowledged only once the
/// position has reached the record that was the log's last when its ack became due.
@Suite("Forwarded acknowledgements")
struct ForwardedAckTests {
    @Test("out-of-order and repeated confirmations never move an ack back or ahead of its record")
    func outOfOrderConfirmations() {
        var queue = ForwardedAckQueue()
        queue.owe(5, once: 10)
        queue.owe(9, once: 20)
        queue.owe(12, once: 30)
        #expect(queue.confirmed(upTo: 9) == nil, "record 10 is not confirmed yet")
        #expect(queue.confirmed(upTo: 25) == 9, "records 10 and 20 are: the higher ack goes out")
        #expect(queue.confirmed(upTo: 15) == nil, "a late, older position frees nothing")
        #expect(queue.confirmed(upTo: 25) == nil, "nor does the same one again")
        #expect(queue.confirmed(upTo: 30) == 12)
        #expect(queue.nextRecord == nil && queue.acknowledged == 12)
        // An ack not beyond what was given (a replay of acknowledged samples) owes nothing new.
        queue.owe(12, once: 40)
        queue.owe(3, once: 41)
        #expect(queue.nextRecord == nil)
    }

    @Test("a cycle that logged nothing new raises the pending ack of the same record")
    func sameRecordRaisesTheSequence() {
        var queue = ForwardedAckQueue()
        queue.owe(5, once: 10)
        queue.owe(7, once: 10)
        #expect(queue.pending == [.init(record: 10, sequence: 7)])
        #expect(queue.confirmed(upTo: 10) == 7)
    }

    @Test("a peer making a million one-sample cycles holds at most the bound, and no ack comes early")
    func boundReached() {
        var queue = ForwardedAckQueue(capacity: 8)
        var recordOf: [UInt64: UInt64] = [:]
        var record: UInt64 = 100
        var position: UInt64 = 100
        var lastAcknowledged: UInt64 = 0
        var generator = SystemRandomNumberGenerator()
        for sequence in UInt64(1)...1_000_000 {
            // Other agents' records interleave: the log grows by 1 to 3 records per cycle.
            record += UInt64.random(in: 1...3, using: &generator)
            recordOf[sequence] = record
            queue.owe(sequence, once: record)
            #expect(queue.pending.count <= 8)
            if sequence % 1000 == 0 {
                // Remote write confirms up to somewhere behind the head, sometimes an older position.
                position = max(position, record - UInt64.random(in: 0...2000, using: &generator))
                let told = Bool.random(using: &generator) ? position : position / 2
                if let acknowledged = queue.confirmed(upTo: told) {
                    #expect(acknowledged > lastAcknowledged)
                    #expect(recordOf[acknowledged]! <= told, "sequence \(acknowledged) acknowledged early")
                    lastAcknowledged = acknowledged
                }
                recordOf = recordOf.filter { $0.key > lastAcknowledged }
            }
        }
        #expect(queue.confirmed(upTo: record) == 1_000_000, "once forwarding catches up, everything is acknowledged")
        #expect(queue.pending.isEmpty)
    }

    @Test("one position jump over many connections wakes exactly those it reached, with their own acks")
    func positionJumpsOverManyAgents() {
        let acknowledgements = ForwardedAcknowledgements(confirmed: 0)
        final class Connection: Sendable {
            let queue = Mutex(ForwardedAckQueue())
            let acked = Mutex<[UInt64]>([])
        }
        let connections = (0..<1000).map { _ in Connection() }
        // Connection i owes sequence 10 at record i+1, and sequence 20 at record 1000+i+1.
        for (index, connection) in connections.enumerated() {
            connection.queue.withLock {
                $0.owe(10, once: UInt64(index + 1))
                $0.owe(20, once: UInt64(1000 + index + 1))
            }
        }
        @Sendable func wait(_ connection: Connection) {
            guard let record = connection.queue.withLock({ $0.nextRecord }) else { return }
            acknowledgements.wait(ObjectIdentifier(connection), for: record) {
                if let sequence = connection.queue.withLock({ $0.confirmed(upTo: acknowledgements.confirmed) }) {
                    connection.acked.withLock { $0.append(sequence) }
                }
                wait(connection)
            }
        }
        connections.forEach(wait)
        #expect(acknowledgements.waitingCount == 1000)
        acknowledgements.confirm(upTo: 500)
        #expect(connections.prefix(500).allSatisfy { $0.acked.withLock { $0 } == [10] })
        #expect(connections.suffix(500).allSatisfy { $0.acked.withLock { $0 }.isEmpty })
        acknowledgements.confirm(upTo: 400)  // late and older: nothing
        // One jump past both records of connections 500..<600: one cumulative ack, the higher.
        acknowledgements.confirm(upTo: 1600)
        let acked = connections.map { $0.acked.withLock { $0 } }
        #expect(acked[..<500].allSatisfy { $0 == [10, 20] })
        #expect(acked[500..<600].allSatisfy { $0 == [20] })
        #expect(acked[600...].allSatisfy { $0 == [10] })
        #expect(acknowledgements.waitingCount == 400)
        acknowledgements.confirm(upTo: 2000)
        #expect(connections.allSatisfy { $0.acked.withLock { $0 }.last == 20 })
        #expect(acknowledgements.waitingCount == 0)
    }

    @Test("a wait for a record already confirmed wakes at once; a cancelled wait never")
    func alreadyConfirmedAndCancelled() {
        let acknowledgements = ForwardedAcknowledgements(confirmed: 50)
        let woken = Mutex(0)
        acknowledgements.wait(ObjectIdentifier(acknowledgements), for: 50) { woken.withLock { $0 += 1 } }
        #expect(woken.withLock { $0 } == 1)
        let other = ForwardedAcknowledgements(confirmed: 0)
        acknowledgements.wait(ObjectIdentifier(other), for: 60) { woken.withLock { $0 += 10 } }
        acknowledgements.cancel(ObjectIdentifier(other))
        acknowledgements.confirm(upTo: 100)
        #expect(woken.withLock { $0 } == 1 && acknowledgements.waitingCount == 0)
    }

    @Test("a lost record blocks every ack that could cover it, for connections that began before it was reported")
    func lostRecordsBlockTheAcksThatCoverThem() {
        let acknowledgements = ForwardedAcknowledgements(confirmed: 0)
        let before = acknowledgements.lossReports
        acknowledgements.lose(100...104)
        // Acks over records 1...99, or beginning after 104, cover nothing lost.
        #expect(!acknowledgements.coversLost(after: 0, upTo: 99, reportsBefore: before))
        #expect(!acknowledgements.coversLost(after: 104, upTo: 500, reportsBefore: before))
        // Any ack whose span reaches into 100...104 does; so does a connection's first ack (after 0),
        // whose replays may have their first copies in any earlier record.
        #expect(acknowledgements.coversLost(after: 0, upTo: 100, reportsBefore: before))
        #expect(acknowledgements.coversLost(after: 103, upTo: 103 + 1, reportsBefore: before))
        #expect(acknowledgements.coversLost(after: 0, upTo: 10_000, reportsBefore: before))
        // A connection that began after the report logged its samples anew, after the lost records.
        #expect(!acknowledgements.coversLost(after: 0, upTo: 10_000, reportsBefore: acknowledgements.lossReports))
        // Many reports merge into one span: coarser, never wrong.
        for start in stride(from: UInt64(1000), to: 1000 + 40 * 10, by: 10) { acknowledgements.lose(start...start) }
        #expect(acknowledgements.coversLost(after: 1004, upTo: 1005, reportsBefore: before))
        #expect(!acknowledgements.coversLost(after: 2000, upTo: 3000, reportsBefore: before))
    }

    @Test("a halted log acknowledges nothing more")
    func haltedLogAcknowledgesNothing() {
        let acknowledgements = ForwardedAcknowledgements(confirmed: 10)
        #expect(acknowledgements.halt() && !acknowledgements.halt(), "the first halt says so, a second does not")
        #expect(acknowledgements.coversLost(after: 10, upTo: 11, reportsBefore: acknowledgements.lossReports))
        #expect(!acknowledgements.coversLost(after: 11, upTo: 11, reportsBefore: 0), "nothing due, nothing covered")
    }

    @Test("the record an ack would wait for, and the record of the last ack given")
    func dueRecordAndAcknowledgedRecord() {
        var queue = ForwardedAckQueue()
        queue.owe(5, once: 10)
        queue.owe(9, once: 20)
        #expect(queue.dueRecord(at: 9) == nil && queue.dueRecord(at: 10) == 10 && queue.dueRecord(at: 25) == 20)
        #expect(queue.confirmed(upTo: 25) == 9 && queue.acknowledgedRecord == 20)
    }
}
