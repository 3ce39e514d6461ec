package import Logging
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// SIGHUP, SIGTERM and SIGINT that arrive before the daemon traps them for good.
///
/// Their default action ends the process: a `kill -HUP` from a configuration-management tool in the
/// first fraction of a second after exec would kill the daemon (exit 129; audit attack2/01). So
/// ``hold()``, the first thing each `main` does, replaces that action with a handler that only
/// records the signal; once the daemon's own handlers are in place (the service group's for SIGTERM
/// and SIGINT, the service's for SIGHUP), ``replay(logger:)`` sends each recorded signal again, so
/// that an early SIGHUP reloads and an early SIGTERM stops gracefully, as they would a moment later.
public enum StartupSignals {
    static let held: [Int32] = [SIGHUP, SIGTERM, SIGINT]

    /// Records the held signals instead of dying of them. Call before any other work in `main`.
    public static func hold() {
        for number in held { _ = signal(number, recordStartupSignal) }
    }

    /// Sends itself again each held signal that arrived since ``hold()``, now that the real handlers
    /// are installed, logging each.
    package static func replay(logger: Logger) {
        let pending = receivedDuringStartup.exchange(0, ordering: .acquiringAndReleasing)
        for number in held where pending & (1 << UInt32(number)) != 0 {
            logger.notice("\(name(number)) received while starting: acted on now that the daemon is running")
            kill(getpid(), number)
        }
    }

    static func name(_ number: Int32) -> String {
        switch number {
        case SIGHUP: "SIGHUP"
        case SIGTERM: "SIGTERM"
        case SIGINT: "SIGINT"
        default: "signal \(number)"
        }
    }
}

/// One bit per signal number (all held ones are below 32).
private let receivedDuringStartup = Atomic<UInt32>(0)

/// The signal handler: a lock-free atomic update, which is async-signal-safe.
private func recordStartupSignal(_ number: Int32) {
    receivedDuringStartup.bitwiseOr(1 << UInt32(number), ordering: .relaxed)
}
