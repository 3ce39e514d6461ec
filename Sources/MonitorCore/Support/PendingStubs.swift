// TEMPORARY: signatures of parts being written in parallel; removed at merge.
public import Logging

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
