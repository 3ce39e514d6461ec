public import NIOCore

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
