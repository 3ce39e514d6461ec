// TEMPORARY: signatures of parts being written in parallel; removed at merge.
public import Logging

public struct SystemdNotifier: Sendable {
    public init() {}
    public var isEnabled: Bool { false }
    public func ready(status: String?) {}
    public func status(_ text: String) {}
    public func reloading() {}
    public func stopping() {}
    public func watchdog() {}
    public var watchdogInterval: Duration? { nil }
}
public enum LogBackend { public static func bootstrap(identifier: String, level: Logger.Level) {} }
