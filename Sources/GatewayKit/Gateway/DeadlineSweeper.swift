import NIOCore
import Synchronization

/// Something with deadlines of its own, checked by a ``DeadlineSweeper`` on its event loop.
protocol SweptDeadlines: AnyObject {
    /// Acts on every deadline that has passed by `now` (closing the connection, say). Called on the
    /// event loop the object was registered on.
    func checkDeadlines(now: NIODeadline)
}

/// The agent connections' deadlines (hello, message, silence) checked by one repeated task per
/// event loop, instead of a scheduled task per connection and deadline.
///
/// NIO keeps an event loop's scheduled tasks in a heap, and cancelling one searches the heap from
/// end to end (NIO 2.101: `removeFirst(where:)`). With a task per connection, every hello and
/// every close cancelled one, so a loop holding n connections paid O(n) per hello and O(n²) when
/// they all closed at once: 8,000 idle connections closing stalled every agent's acks and every
/// scrape for 45 s in the debug build (audit 4, finding 12), and 50,000 agents reconnecting after
/// a network blip would have paid the same in the release build. Here nothing is ever cancelled:
/// a connection registers when it starts and leaves when it closes (dictionary operations), and
/// the loop looks at each of its connections' deadlines every ``interval``: a deadline fires up
/// to that much late.
final class DeadlineSweeper: Sendable {
    /// How often each loop checks its connections: the resolution of every deadline it enforces.
    static let interval = TimeAmount.milliseconds(250)

    /// One per event loop, made when the loop's first connection registers.
    private let loops = Mutex<[ObjectIdentifier: NIOLoopBound<LoopSweeper>]>([:])
    private let stopped = Atomic<Bool>(false)

    /// Checks `member`'s deadlines on `loop` from now until ``unregister(_:on:)``. Call on `loop`.
    func register(_ member: any SweptDeadlines, on loop: any EventLoop) {
        sweeper(for: loop).value.members[ObjectIdentifier(member)] = member
    }

    /// Stops checking `member`. Call on the loop it was registered on.
    func unregister(_ member: any SweptDeadlines, on loop: any EventLoop) {
        let key = ObjectIdentifier(loop)
        guard let sweeper = loops.withLock({ $0[key] }) else { return }
        sweeper.value.members.removeValue(forKey: ObjectIdentifier(member))
    }

    /// Ends every loop's repeated task (the listener is closing).
    func stop() {
        stopped.store(true, ordering: .relaxed)
        let all = loops.withLock { loops in
            defer { loops = [:] }
            return Array(loops.values)
        }
        for sweeper in all {
            sweeper.eventLoop.execute { sweeper.value.stop() }
        }
    }

    private func sweeper(for loop: any EventLoop) -> NIOLoopBound<LoopSweeper> {
        let key = ObjectIdentifier(loop)
        return loops.withLock { loops in
            if let existing = loops[key] { return existing }
            let sweeper = NIOLoopBound(LoopSweeper(), eventLoop: loop)
            if !stopped.load(ordering: .relaxed) { sweeper.value.start(on: loop) }
            loops[key] = sweeper
            return sweeper
        }
    }
}

/// The connections of one event loop and the repeated task that checks them; used on that loop only.
private final class LoopSweeper {
    var members: [ObjectIdentifier: any SweptDeadlines] = [:]
    private var task: RepeatedTask?

    func start(on loop: any EventLoop) {
        let bound = NIOLoopBound(self, eventLoop: loop)
        task = loop.scheduleRepeatedTask(initialDelay: DeadlineSweeper.interval, delay: DeadlineSweeper.interval) {
            _ in bound.value.sweep()
        }
    }

    func stop() {
        task?.cancel()
        task = nil
        members = [:]
    }

    private func sweep() {
        guard !members.isEmpty else { return }
        let now = NIODeadline.now()
        // Acting on a deadline may close a connection and unregister it at once: the loop goes on
        // over the dictionary as it was (a value), and the first removal copies it once.
        for member in members.values { member.checkDeadlines(now: now) }
    }
}
