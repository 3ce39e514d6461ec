import DaemonKit
import MonitorSystem
import ServiceLifecycle
import UnixSignals

extension DaemonControl {
    /// monitord's events for ``DaemonControl/run(events:notifier:hooks:)``: SIGHUP from
    /// `hangups`, the shutdown from swift-service-lifecycle's graceful shutdown (SIGTERM and
    /// SIGINT, as monitord's service group is configured).
    static func run(hangups: UnixSignalsSequence, notifier: SystemdNotifier, hooks: Hooks) async {
        let (events, requests) = Requests.make()
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { signals in
                signals.addTask {
                    for await _ in hangups { requests.reload() }
                }
                await run(events: events, notifier: notifier, hooks: hooks)
                signals.cancelAll()
            }
        } onGracefulShutdown: {
            requests.shutdown()
        }
        requests.finish()
    }
}
