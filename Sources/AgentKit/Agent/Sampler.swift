import Logging
import MonitorModel
import NIOCore

/// Takes a sample every `interval` on a fixed schedule, whatever the network does.
///
/// The CPU figure covers the `cpu-window` that ends at each tick: the sampler reads /proc/stat at
/// `tick - window` and again at `tick`, waiting in between instead of blocking a thread for the
/// window as the report's psutil call did. Ticks are computed from the start time, not from the
/// previous wake-up, so the schedule does not drift. When the window is the whole interval, the
/// reading at one tick is the start of the next window: one wake-up per sample instead of two.
///
/// Its wake-ups are timers of the agent's event loop, and a sample goes from /proc through the
/// buffer to the connection's ``UplinkHandler`` in one call on that loop: no task, no thread hop.
final class Sampler: Sendable {
    private let state: AgentState
    private let collector: SystemCollector
    private let clock: any WallClock
    private let logger: Logger
    private let eventLoop: any EventLoop
    private let schedule: NIOLoopBoundBox<Schedule>

    /// Where the sampler is in its cycle; touched on the event loop only.
    private struct Schedule {
        var tick: ContinuousClock.Instant
        /// The reading taken at the previous tick, valid as the start of this window when the
        /// window spans the whole interval and no tick was skipped.
        var previousTick: (tick: ContinuousClock.Instant, cpu: CPUTimes)?
        var cpuStart: CPUTimes?
        var lastFailure: String?
        var timer: Scheduled<Void>?
        var stopped = false
    }

    init(state: AgentState, collector: SystemCollector, clock: any WallClock, logger: Logger, eventLoop: any EventLoop)
    {
        self.state = state
        self.collector = collector
        self.clock = clock
        self.logger = logger
        self.eventLoop = eventLoop
        self.schedule = NIOLoopBoundBox.makeBoxSendingValue(
            Schedule(tick: .now.advanced(by: state.configuration.cpuWindow)), eventLoop: eventLoop)
    }

    /// Starts sampling; the first sample is taken one `cpu-window` from now.
    func start() {
        eventLoop.execute {
            self.schedule.value.tick = .now.advanced(by: self.state.configuration.cpuWindow)
            self.beginWindow()
        }
    }

    /// Stops sampling (a stopping agent takes no more samples anyway: see ``AgentState/append``).
    func stop() {
        eventLoop.execute {
            self.schedule.value.stopped = true
            self.schedule.value.timer?.cancel()
            self.schedule.value.timer = nil
        }
    }

    /// Starts the CPU window that ends at the next tick: with the previous tick's reading when
    /// it is the window's start, else with a reading at the window's start.
    private func beginWindow() {
        let configuration = state.configuration
        let windowStart = schedule.value.tick.advanced(by: .zero - configuration.cpuWindow)
        let previousTick = schedule.value.previousTick
        schedule.value.previousTick = nil
        if let previousTick, previousTick.tick >= windowStart {
            schedule.value.cpuStart = previousTick.cpu
            at(schedule.value.tick) { $0.takeSample() }
        } else {
            at(windowStart) { $0.readWindowStart() }
        }
    }

    private func readWindowStart() {
        do {
            schedule.value.cpuStart = try collector.cpuTimes()
            at(schedule.value.tick) { $0.takeSample() }
        } catch {
            report(error)
            advance()
        }
    }

    private func takeSample() {
        do {
            guard let cpuStart = schedule.value.cpuStart else { return advance() }
            let timestamp = clock.now()
            // The state numbers the sample as it stores it, so sequences stay consecutive; storing
            // it has the open connection write it.
            let (sample, cpuEnd) = try collector.sampleAndCPUTimes(timestamp: timestamp, cpuStart: cpuStart)
            state.append(sample, logger: logger)
            schedule.value.previousTick = (schedule.value.tick, cpuEnd)
            schedule.value.lastFailure = nil
        } catch {
            report(error)
        }
        advance()
    }

    /// Reports a failing /proc once, not every tick.
    private func report(_ error: any Error) {
        let text = "\(error)"
        if text != schedule.value.lastFailure {
            logger.error("cannot sample: \(text)")
            schedule.value.lastFailure = text
        }
    }

    /// Moves on to the next tick. A reload may have changed the interval or the window: the next
    /// tick follows it.
    private func advance() {
        let interval = state.configuration.interval
        var tick = schedule.value.tick.advanced(by: interval)
        let now = ContinuousClock.now
        if tick <= now {
            // We were suspended (or the machine slept) past a whole tick: skip the missed ticks
            // instead of bursting. A window start that is merely late (always so when
            // cpu-window = interval) is no reason to skip: the window then starts now, a little
            // shorter, and the tick keeps its time.
            let missed = Int(((now - tick).inSeconds / interval.inSeconds).rounded(.down)) + 1
            tick = tick.advanced(by: interval * missed)
            schedule.value.previousTick = nil
            logger.debug("sampler skipped \(missed) ticks")
        }
        schedule.value.tick = tick
        beginWindow()
    }

    /// Runs `step` at `instant` of the continuous clock, on the loop's timer; at once if it has
    /// passed.
    private func at(_ instant: ContinuousClock.Instant, _ step: @escaping @Sendable (Sampler) -> Void) {
        guard !schedule.value.stopped else { return }
        let remaining = ContinuousClock.now.duration(to: instant)
        guard remaining > .zero else { return step(self) }
        schedule.value.timer = eventLoop.scheduleTask(in: TimeAmount(remaining)) { step(self) }
    }
}
