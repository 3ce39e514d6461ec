// TEMPORARY: signatures of parts being written in parallel; removed at merge.
public import Logging

public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int?
    public var message: String
    public var description: String { "\(file):\(line ?? 0): \(message)" }
}
public struct HostPort: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var description: String { "\(host):\(port)" }
    public static func parse(_ text: String) -> HostPort? { fatalError() }
}
public enum LogLevelName: String, Sendable, CaseIterable { case trace, debug, info, notice, warning, error, critical }
public struct GatewayConfiguration: Sendable, Equatable {
    public var listen = HostPort(host: "0.0.0.0", port: 5578)
    public var metricsListen = HostPort(host: "0.0.0.0", port: 8001)
    public var agentTimeout = Duration.seconds(30)
    public var forgetAfter = Duration.seconds(3600)
    public var helloTimeout = Duration.seconds(10)
    public var maxMessageBytes = 65536
    public var allowLegacyAgents = true
    public var logLevel = LogLevelName.info
    public init() {}
    public static func load(path: String) throws(ConfigurationError) -> GatewayConfiguration { fatalError() }
    public func rendered() -> String { fatalError() }
}
public struct AgentConfiguration: Sendable, Equatable {
    public var servers = [HostPort(host: "127.0.0.1", port: 5578)]
    public var name = ""
    public var interval = Duration.seconds(5)
    public var cpuWindow = Duration.seconds(4)
    public var bufferCapacity = 17280
    public var logLevel = LogLevelName.info
    public init() {}
    public static func load(path: String) throws(ConfigurationError) -> AgentConfiguration { fatalError() }
    public func rendered() -> String { fatalError() }
    public func resolvedName(hostName: String) -> String { name.isEmpty ? hostName : name }
}
public struct CollectorError: Error, Sendable, CustomStringConvertible { public var description: String }
public struct CPUTimes: Sendable, Equatable {}
public struct SystemCollector: Sendable {
    public init() {}
    public func cpuTimes() throws(CollectorError) -> CPUTimes { fatalError() }
    public func residentBytes() throws(CollectorError) -> UInt64 { fatalError() }
    public func sample(sequence: UInt64, timestamp: Double, cpuStart: CPUTimes) throws(CollectorError) -> Sample {
        fatalError()
    }
}
public struct JSONObjectSplitter: Sendable {
    public init(maximumObjectBytes: Int = 65536) {}
    public mutating func append(_ bytes: some Sequence<UInt8>) {}
    public mutating func nextObject() throws(FramingError) -> [UInt8]? { fatalError() }
}
public enum FramingError: Error, Sendable, Equatable, CustomStringConvertible {
    case objectTooLarge(limit: Int)
    public var description: String { "" }
}
public enum AgentMessage: Sendable, Equatable { case hello(Hello), sample(Sample) }
public struct Hello: Sendable, Equatable {
    public var protocolVersion: Int
    public var agent: String
    public var agentVersion: String
    public var session: String
}
public enum GatewayMessage: Sendable, Equatable {
    case welcome(protocolVersion: Int, lastSequence: UInt64?), ack(sequence: UInt64), error(reason: String)
}
public enum PeerMessage: Sendable, Equatable { case native(AgentMessage), legacy(Sample) }
public struct ProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    public var reason: String
    public var description: String { reason }
}
public enum ProtocolCodec {
    public static let version = 1
    public static func decodePeerMessage(_ object: [UInt8]) throws(ProtocolError) -> PeerMessage { fatalError() }
    public static func encode(_ message: GatewayMessage) -> [UInt8] { fatalError() }
    public static func encode(_ message: AgentMessage) -> [UInt8] { fatalError() }
    public static func decodeGatewayMessage(_ object: [UInt8]) throws(ProtocolError) -> GatewayMessage { fatalError() }
}
public enum AgentDialect: String, Sendable { case native, legacy }
public final class AgentStore: Sendable {
    public init(agentTimeout: Duration, forgetAfter: Duration) {}
    public func reconfigure(agentTimeout: Duration, forgetAfter: Duration) {}
    public func nextLegacyName() -> String { fatalError() }
    public func connected(
        agent: String, session: String?, dialect: AgentDialect, remoteAddress: String, now: Double
    ) -> UInt64? { fatalError() }
    public func disconnected(agent: String, now: Double) {}
    public func record(_ sample: Sample, agent: String, session: String?, now: Double) -> Bool { fatalError() }
    public func expire(now: Double) -> [String] { fatalError() }
    public var agentCount: Int { 0 }
    public func snapshot(now: Double) -> [AgentSnapshot] { [] }
}
public enum MetricsPage {
    public static func render(store: AgentStore, now: Double, extra: [MetricFamily]) -> [UInt8] { fatalError() }
}
public struct MetricFamily: Sendable {}
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
public struct AgentSnapshot: Sendable { public var up: Bool; public var samplesReceived: UInt64 }
