package import Logging
package import MonitorSystem
package import NIOCore
import ServiceLifecycle
package import UnixSignals

/// The skeleton both daemons run in: their work as child tasks, a reload for each SIGHUP, and on
/// graceful shutdown (SIGTERM, SIGINT) a stop step before the work is cancelled.
///
/// Reloads and the shutdown arrive through one stream of events handled by one loop, so a reload
/// never runs concurrently with another reload or with stopping.
package enum DaemonControl {
    private enum Event: Sendable {
        case reload
        case shutdown
    }

    /// Runs until graceful shutdown.
    ///
    /// - Parameters:
    ///   - hangups: SIGHUP, trapped by the caller before it announced readiness (from then on a
    ///     reload must never kill the daemon).
    ///   - notifier: told `RELOADING=1` around each reload and `READY=1` with `status()` after it,
    ///     and `STOPPING=1` before `stop`.
    ///   - start: adds the daemon's work to the task group.
    ///   - reload: applies a new configuration; may add tasks (a listener moved to a new port).
    ///   - stop: what the daemon does before its tasks are cancelled (close listeners, drain).
    package static func run(
        hangups: UnixSignalsSequence,
        notifier: SystemdNotifier,
        status: () -> String,
        start: (inout TaskGroup<Void>) -> Void,
        reload: (inout TaskGroup<Void>) async -> Void,
        stop: () async -> Void
    ) async {
        let (events, control) = AsyncStream.makeStream(of: Event.self)
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                start(&group)
                group.addTask {
                    for await _ in hangups { control.yield(.reload) }
                }
                for await event in events {
                    guard case .reload = event else { break }
                    notifier.reloading()
                    await reload(&group)
                    notifier.ready(status: status())
                }
                notifier.stopping()
                await stop()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            control.yield(.shutdown)
        }
        control.finish()
    }

    /// Reads the configuration again with `load`, or says why not and returns `nil`: a file that
    /// no longer loads must not take down a running daemon, which keeps what it runs with.
    package static func reloadedConfiguration<Loaded>(
        from path: String?,
        daemon: String,
        logger: Logger,
        load: (String) throws -> Loaded
    ) -> (Loaded, path: String)? {
        guard let path else {
            logger.warning("reload requested, but \(daemon) runs without a configuration file")
            return nil
        }
        do {
            return (try load(path), path)
        } catch {
            logger.error(
                "configuration reload refused, keeping the running configuration: \(error)",
                metadata: ["file": "\(path)"]
            )
            return nil
        }
    }
}

extension SystemdNotifier {
    /// Tells systemd the daemon is alive, but only after a round trip through one of its event
    /// loops: a daemon whose I/O threads are stuck must stop hearing from the watchdog.
    /// Returns whether the round trip (and so the watchdog message) happened.
    package func watchdog(afterRoundTripThrough group: any EventLoopGroup) async -> Bool {
        guard (try? await group.next().submit({}).get()) != nil else { return false }
        watchdog()
        return true
    }
}
