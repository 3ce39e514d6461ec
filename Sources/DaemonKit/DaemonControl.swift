package import Logging
package import MonitorSystem
package import NIOCore

/// The skeleton both daemons run in: their work as child tasks, a reload for each SIGHUP, and on
/// graceful shutdown (SIGTERM, SIGINT) a stop step before the work is cancelled.
///
/// Reloads and the shutdown arrive through one stream of events handled by one loop, so a reload
/// never runs concurrently with another reload or with stopping; ``Requests`` merges a burst of
/// SIGHUPs into one reload and lets a shutdown overtake them. Where the events come from is
/// the daemon's: monitord takes them from swift-service-lifecycle, the agent from its own signal
/// handler (``SignalPipe``), so that the agent links no Dispatch-based signal machinery.
package enum DaemonControl {
    package enum Event: Sendable {
        /// SIGHUP.
        case reload
        /// SIGTERM or SIGINT.
        case shutdown
    }

    /// What a daemon does at each step of ``run(events:notifier:hooks:)``: written once by the
    /// daemon, passed on unchanged by whatever supplies the events (monitord's signal sources).
    package struct Hooks {
        /// The one-line `STATUS=` sent with `READY=1` after each reload.
        package var status: () -> String
        /// Adds the daemon's work to the task group.
        package var start: (inout TaskGroup<Void>) -> Void
        /// Applies a new configuration; may add tasks (a listener moved to a new port).
        package var reload: (inout TaskGroup<Void>) async -> Void
        /// What the daemon does before its tasks are cancelled (close listeners, drain).
        package var stop: () async -> Void

        package init(
            status: @escaping () -> String,
            start: @escaping (inout TaskGroup<Void>) -> Void,
            reload: @escaping (inout TaskGroup<Void>) async -> Void,
            stop: @escaping () async -> Void
        ) {
            self.status = status
            self.start = start
            self.reload = reload
            self.stop = stop
        }
    }

    /// Runs until a shutdown event, or until `events` ends.
    ///
    /// - Parameters:
    ///   - events: reloads and the shutdown, from ``Requests/make()``; SIGHUP must be trapped before the daemon announced
    ///     readiness (from then on a reload must never kill the daemon).
    ///   - notifier: told `RELOADING=1` around each reload and `READY=1` with `hooks.status()`
    ///     after it, and `STOPPING=1` before `hooks.stop`.
    ///   - hooks: the daemon's start, reload, stop and status line.
    package static func run(events: AsyncStream<Event>, notifier: SystemdNotifier, hooks: Hooks) async {
        await withTaskGroup(of: Void.self) { group in
            hooks.start(&group)
            for await event in events {
                guard case .reload = event else { break }
                notifier.reloading()
                await hooks.reload(&group)
                notifier.ready(status: hooks.status())
            }
            notifier.stopping()
            await hooks.stop()
            group.cancelAll()
        }
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
