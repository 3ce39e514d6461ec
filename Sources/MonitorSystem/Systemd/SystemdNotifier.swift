#if canImport(Glibc)
    import Glibc
#endif

/// Tells the service manager how the daemon is doing (`Type=notify` units).
///
/// systemd only considers the unit started once `READY=1` arrives, shows `STATUS=` in
/// `systemctl status`, and kills a daemon whose `WATCHDOG=1` pings stop. Every method is a
/// no-op when `NOTIFY_SOCKET` is unset, so the same code runs from a terminal or in tests.
///
/// Messages follow `sd_notify(3)`; see ``NotifyDatagram`` for why they are sent here rather
/// than through `sd_notify` itself. Nothing is removed from the environment, like
/// `sd_notify(0, ...)`.
public struct SystemdNotifier: Sendable {
    /// Where the notifications go, or `nil` when no service manager listens.
    let socketAddress: String?
    /// `WATCHDOG_USEC`, when it is a positive number of microseconds.
    let watchdogMicroseconds: Int64?
    /// `WATCHDOG_PID` as given; `nil` when unset. An unparsable value disables the watchdog,
    /// as it does for `sd_watchdog_enabled`.
    let watchdogProcess: String?

    /// Reads `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID`.
    ///
    /// - Parameter environment: the variables to read; defaults to the process environment. Tests
    ///   pass their own so that they never have to mutate the process-wide one.
    public init(environment: [String: String] = ProcessEnvironment.current()) {
        let socket = environment["NOTIFY_SOCKET"] ?? ""
        socketAddress = socket.isEmpty ? nil : socket
        if let text = environment["WATCHDOG_USEC"], let value = Self.decimal(text), value > 0 {
            watchdogMicroseconds = value
        } else {
            watchdogMicroseconds = nil
        }
        watchdogProcess = environment["WATCHDOG_PID"]
    }

    /// Whether a service manager is listening; lets callers skip building status text for nobody.
    public var isEnabled: Bool { socketAddress != nil }

    /// How often to call ``watchdog()``: half of `WATCHDOG_USEC`, the margin `sd_watchdog_enabled(3)`
    /// recommends. `nil` when the watchdog is off or meant for another process (`WATCHDOG_PID`
    /// names a different pid, e.g. a parent that forked us).
    public var watchdogInterval: Duration? {
        guard let microseconds = watchdogMicroseconds else { return nil }
        if let process = watchdogProcess {
            guard let pid = Self.decimal(process), pid == Int64(getpid()) else { return nil }
        }
        return .microseconds(microseconds / 2)
    }

    /// Start-up is complete: systemd moves the unit to `active` and starts what waits for it.
    /// Send it only once the sockets listen, or dependants may race the bind.
    public func ready(status: String? = nil) {
        var message = "READY=1"
        if let status { message += "\nSTATUS=" + Self.oneLine(status) }
        send(message)
    }

    /// A human summary for `systemctl status`; newlines would end the field, so they become spaces.
    public func status(_ text: String) {
        send("STATUS=" + Self.oneLine(text))
    }

    /// A reload started; systemd waits for the next ``ready(status:)`` before `systemctl reload`
    /// returns on systems that support it. `MONOTONIC_USEC` lets it tell this reload from an
    /// earlier one.
    public func reloading() {
        send("RELOADING=1\nMONOTONIC_USEC=\(Self.monotonicMicroseconds())")
    }

    /// A long start is making progress: systemd's start timeout (`TimeoutStartSec=`) is moved to
    /// `time` from now (`EXTEND_TIMEOUT_USEC`), and `status` says what is going on.
    public func extendTimeout(by time: Duration, status: String) {
        let microseconds = max(time.components.seconds, 0) * 1_000_000 + time.components.attoseconds / 1_000_000_000_000
        send("EXTEND_TIMEOUT_USEC=\(microseconds)\nSTATUS=" + Self.oneLine(status))
    }

    /// Shutdown started, so systemd does not mistake the slow exit for a hang.
    public func stopping() {
        send("STOPPING=1")
    }

    /// Proof of life; call it from the loop that does the work so that a stuck daemon stops pinging.
    public func watchdog() {
        // Only when systemd watches this process: with WATCHDOG_PID naming another (a wrapper
        // that execs us, say), the pings are not ours to send.
        guard watchdogInterval != nil else { return }
        send("WATCHDOG=1")
    }

    /// Sends one notification; the result is for tests, daemons ignore it as `sd_notify` callers do.
    @discardableResult
    func send(_ message: String) -> Bool {
        guard let socketAddress else { return false }
        return NotifyDatagram.send(message, to: socketAddress)
    }

    static func oneLine(_ text: String) -> String {
        String(text.map { $0.isNewline ? " " : $0 })
    }

    /// `CLOCK_MONOTONIC` in microseconds, the clock systemd compares `MONOTONIC_USEC` against.
    static func monotonicMicroseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1_000
    }

    /// Strict base-10 parse: systemd rejects signs, spaces and suffixes, and so do we.
    static func decimal(_ text: String) -> Int64? {
        guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
            return nil
        }
        return Int64(text)
    }
}
