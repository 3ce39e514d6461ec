import Logging
import MonitorModel

/// Takes a sample every `interval` on a fixed schedule, whatever the network does.
///
/// The CPU figure covers the `cpu-window` that ends at each tick: the sampler reads /proc/stat at
/// `tick - window` and again at `tick`, sleeping in between instead of blocking a thread for the
/// window as the report's psutil call did. Ticks are computed from the start time, not from the
/// previous wake-up, so the schedule does not drift. When the window is the whole interval, the
/// reading at one tick is the start of the next window: one wake-up per sample instead of two.
/// It sleeps on the agent's event loop (``EventLoopExecutor``), so a sample wakes one thread.
struct Sampler: Sendable {
    let state: AgentState
    let collector: SystemCollector
    let clock: any WallClock
    let logger: Logger
    let executor: EventLoopExecutor

    func run() async {
        let monotonic = ContinuousClock()
        var configuration = state.configuration
        var tick = monotonic.now.advanced(by: configuration.cpuWindow)
        var lastFailure: String?
        // The reading taken at the previous tick, valid as the start of this window when the
        // window spans the whole interval and no tick was skipped.
        var previousTick: (tick: ContinuousClock.Instant, cpu: CPUTimes)?
        while !Task.isCancelled {
            do {
                let windowStart = tick.advanced(by: .zero - configuration.cpuWindow)
                let cpuStart: CPUTimes
                if let previousTick, previousTick.tick >= windowStart {
                    cpuStart = previousTick.cpu
                } else {
                    try await sleep(until: windowStart, monotonic)
                    cpuStart = try collector.cpuTimes()
                }
                previousTick = nil
                try await sleep(until: tick, monotonic)
                let timestamp = clock.now()
                // The state numbers the sample as it stores it, so sequences stay consecutive.
                let (sample, cpuEnd) = try collector.sampleAndCPUTimes(timestamp: timestamp, cpuStart: cpuStart)
                state.append(sample, logger: logger)
                previousTick = (tick, cpuEnd)
                lastFailure = nil
            } catch is CancellationError {
                return
            } catch {
                // Report a failing /proc once, not every tick.
                let text = "\(error)"
                if text != lastFailure {
                    logger.error("cannot sample: \(text)")
                    lastFailure = text
                }
            }
            // A reload may have changed the interval or the window: the next tick follows it.
            configuration = state.configuration
            tick = tick.advanced(by: configuration.interval)
            let now = monotonic.now
            if tick <= now {
                // We were suspended (or the machine slept) past a whole tick: skip the missed ticks
                // instead of bursting. A window start that is merely late (always so when
                // cpu-window = interval) is no reason to skip: the window then starts now, a
                // little shorter, and the tick keeps its time.
                let missed = Int(((now - tick).inSeconds / configuration.interval.inSeconds).rounded(.down)) + 1
                tick = tick.advanced(by: configuration.interval * missed)
                previousTick = nil
                logger.debug("sampler skipped \(missed) ticks")
            }
        }
    }

    /// Sleeps on the event loop's timer until `instant` of the continuous clock.
    private func sleep(until instant: ContinuousClock.Instant, _ clock: ContinuousClock) async throws {
        let remaining = clock.now.duration(to: instant)
        guard remaining > .zero else { return try Task.checkCancellation() }
        try await executor.sleep(for: remaining)
    }
}
