import CStartupSignals
package import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// SIGHUP, SIGTERM and SIGINT that arrive before the daemon traps them for good.
///
/// Their default action ends the process: a `kill -HUP` from a configuration-management tool in the
/// first instants after exec would kill the daemon (exit 129; audits 2/01 and 3/03). So a C
/// constructor (CStartupSignals), run as soon as the loader hands over and before the Swift runtime
/// starts, replaces that action with a handler that only records the signal; ``hold()``, the first
/// thing each `main` does, does the same for a daemon run under another name. Once the daemon's own
/// handlers are in place (the service group's for SIGTERM and SIGINT, the service's for SIGHUP),
/// ``replay(logger:)`` sends each recorded signal again, so that an early SIGHUP reloads and an early
/// SIGTERM stops gracefully, as they would a moment later. What is left unprotected is the dynamic
/// loader's own work between exec and the constructor.
public enum StartupSignals {
    static let held: [Int32] = [SIGHUP, SIGTERM, SIGINT]

    /// Records the held signals instead of dying of them. Call before any other work in `main`.
    public static func hold() {
        startup_signals_hold()
    }

    /// Sends itself again each held signal that arrived since they were held, now that the real
    /// handlers are installed, logging each.
    package static func replay(logger: Logger) {
        let pending = startup_signals_take()
        for number in held where pending & (1 << UInt32(number)) != 0 {
            logger.notice("\(name(number)) received while starting: acted on now that the daemon is running")
            kill(getpid(), number)
        }
    }

    /// Whether a SIGTERM or SIGINT has arrived while starting: a start that takes long (a large
    /// write-ahead log replayed) asks this now and then, so that `systemctl stop` is not kept
    /// waiting until the start is over.
    package static var stopRequested: Bool {
        let pending = startup_signals_pending()
        return pending & (1 << UInt32(SIGTERM) | 1 << UInt32(SIGINT)) != 0
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
