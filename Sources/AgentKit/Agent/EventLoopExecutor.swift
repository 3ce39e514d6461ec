public import NIOCore
import NIOPosix

/// Runs Swift tasks on one NIO event loop: the agent's concurrency and its socket share a thread.
///
/// Without it, a sample crossed threads several times: the sampler's timer fired on a
/// dispatch thread, its task resumed on the concurrency pool, the write hopped to the event
/// loop's thread, and the gateway's ack hopped back to the pool. Each hop is a wake-up and a
/// context switch, and the pool tears idle threads down and starts new ones, so at one sample a
/// second nearly every sample paid for thread creation too. With the agent's tasks preferring
/// this executor (`withTaskExecutorPreference`), a job enqueued from the loop's own thread runs
/// on it without waking anything.
public final class EventLoopExecutor: TaskExecutor {
    public let eventLoop: any EventLoop

    public init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// An executor on an event loop of its own: one thread is all an agent needs (NIO's shared
    /// group would start one per core). The thread lives as long as the process.
    public static func ownThread() -> EventLoopExecutor {
        EventLoopExecutor(MultiThreadedEventLoopGroup(numberOfThreads: 1).next())
    }

    /// Runs `body` as a task on this executor and blocks the calling thread (which must not be
    /// the loop's) until it returns.
    ///
    /// For a `main` that does all its work here: top-level `await` would run it on the main
    /// actor, that is on Dispatch's main queue, and Dispatch would then keep a thread of its own
    /// with a timer that wakes it every second to watch a worker pool the agent never uses.
    public func run<Result: Sendable>(_ body: @escaping @Sendable () async -> Result) -> Result {
        precondition(!eventLoop.inEventLoop, "run(_:) would block the loop it waits for")
        let finished = eventLoop.makePromise(of: Result.self)
        Task(executorPreference: self) { finished.succeed(await body()) }
        do {
            return try finished.futureResult.wait()
        } catch {
            preconditionFailure("the promise is only ever succeeded")
        }
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        eventLoop.execute {
            job.runSynchronously(on: self.asUnownedTaskExecutor())
        }
    }

    /// Suspends the calling task until `deadline`, on the loop's timer: unlike `Task.sleep`,
    /// whose timers fire on a dispatch thread, this wakes only the loop.
    ///
    /// - Throws: `CancellationError` when the task is cancelled before the deadline.
    public func sleep(until deadline: NIODeadline) async throws {
        try Task.checkCancellation()
        let scheduled = eventLoop.scheduleTask(deadline: deadline) {}
        do {
            try await withTaskCancellationHandler {
                try await scheduled.futureResult.get()
            } onCancel: {
                scheduled.cancel()
            }
        } catch {
            throw CancellationError()
        }
    }

    /// As ``sleep(until:)``, for a duration from now.
    public func sleep(for duration: Duration) async throws {
        try await sleep(until: .now() + TimeAmount(duration))
    }
}
