import DaemonKit
import MonitorSystem
import ServiceLifecycle
import UnixSignals

extension DaemonControl {
    /// monitord's events for ``DaemonControl/run(events:notifier:status:start:reload:stop:)``:
    /// SIGHUP from `hangups`, the shutdown from swift-service-lifecycle's graceful shutdown
    /// (SIGTERM and SIGINT, as monitord's service group is configured).
    static func run(
        hangups: UnixSignalsSequence,
        notifier: SystemdNotifier,
        status: () -> String,
        start: (inout TaskGroup<Void>) -> Void,
        reload: (inout TaskGroup<Void>) async -> Void,
        stop: () async -> Void
    ) async {
        let (events, control) = AsyncStream.makeStream(of: Event.self)
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { signals in
                signals.addTask {
                    for await _ in hangups { control.yield(.reload) }
                }
                await run(events: events, notifier: notifier, status: status, start: start, reload: reload, stop: stop)
                signals.cancelAll()
            }
        } onGracefulShutdown: {
            control.yield(.shutdown)
        }
        control.finish()
    }
}
