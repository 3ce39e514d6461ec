import MonitorConfig
import NIOCore

/// What the gateway's two ports have in common, so that a reload moves either the same way.
protocol GatewayListener: Sendable {
    static func bind(_ address: HostPort, state: GatewayState, group: any EventLoopGroup) async throws -> Self
    /// Stops accepting; connections already open go on.
    func close()
    /// Serves connections until the listener is closed or the task cancelled.
    func serve() async
}

extension AgentListener: GatewayListener {}
extension HTTPPort: GatewayListener {}
