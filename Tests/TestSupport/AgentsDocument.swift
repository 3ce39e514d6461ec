import Foundation

/// The `/api/v1/agents` document as a client decodes it, with Foundation's decoder.
public struct AgentsDocument: Decodable, Sendable {
    public struct Counts: Decodable, Sendable, Equatable {
        public var total: Int
        public var up: Int
        public var late: Int
        public var down: Int

        public init(total: Int, up: Int, late: Int, down: Int) {
            self.total = total
            self.up = up
            self.late = late
            self.down = down
        }
    }
    public struct Agent: Decodable, Sendable {
        public var name: String
        public var state: String
        public var dialect: String
        public var transport: String
        public var remoteAddress: String
        public var connected: Bool
        public var connectedSince: Double?
        public var lastSeen: Double?
        public var samplesReceived: UInt64
        public var up: Bool
        public var fresh: Bool
        public var latest: Latest?
    }
    public struct Latest: Decodable, Sendable {
        public var sequence: UInt64
        public var timestamp: Double?
        public var ramUsagePercent: Double?
        public var cpuUsagePercent: Double?
        public var processRAMGigabytes: Double?
        public var cpuInterrupts: UInt64
    }
    public var now: Double
    public var version: String
    public var counts: Counts
    public var agents: [Agent]

    /// Decodes a response body.
    public static func decode(_ body: String) throws -> AgentsDocument {
        try JSONDecoder().decode(AgentsDocument.self, from: Data(body.utf8))
    }

    /// The state (`up`, `late`, `down`) of the agent called `name`, if listed.
    public func state(of name: String) -> String? { agents.first { $0.name == name }?.state }
}
