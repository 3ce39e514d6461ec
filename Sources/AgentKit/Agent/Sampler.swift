import Logging
import MonitorModel

/// Takes a sample every `interval` on a fixed schedule, whatever the network does.
///
/// The CPU figure covers the `cpu-window` that ends at each tick: the sampler reads /proc/stat at
/// `tick - window` and again at `tick`, sleeping in between instead of blocking a thread for the
/// window as the report's psutil call did. Ticks are computed from the start time, not from the
/// previous wake-up, so the schedule does not drift.
struct Sampler: Sendable {
    let state: AgentState
    let collector: SystemCollector
    let clock: any WallClock
    let logger: Logger

    func run() async {
        let monotonic = ContinuousClock()
        var configuration = state.configuration
        var tick = monotonic.now.advanced(by: configuration.cpuWindow)
        var lastFailure: String?
        while !Task.isCancelled {
            do {
                try await Task.sleep(until: tick.advanced(by: .zero - configuration.cpuWindow), clock: monotonic)
                let cpuStart = try collector.cpuTimes()
                try await Task.sleep(until: tick, clock: monotonic)
                let timestamp = clock.now()
                // The state numbers the sample as it stores it, so sequences stay consecutive.
                let sample = try collector.sample(sequence: 0, timestamp: timestamp, cpuStart: cpuStart)
                state.append(sample, logger: logger)
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
                logger.debug("sampler skipped \(missed) ticks")
            }
        }
    }
}
