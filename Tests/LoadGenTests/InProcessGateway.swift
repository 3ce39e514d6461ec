import GatewayConfig
import GatewayKit
import Logging
import MonitorConfig
import NIOCore
import ServiceLifecycle
import Synchronization

/// The real gateway (`GatewayService`), run in this process on free loopback ports.
struct InProcessGateway {
    let agentPort: Int
    let metricsPort: Int
}

/// Runs `body` against a fresh in-process gateway, then shuts the gateway down gracefully.
/// - Parameter configure: changes to the gateway's default configuration (its ports stay free loopback ones).
func withInProcessGateway<T: Sendable>(
    configure: (inout GatewayConfiguration) -> Void = { _ in },
    _ body: (InProcessGateway) async throws -> T
) async throws -> T {
    var configuration = GatewayConfiguration()
    configure(&configuration)
    configuration.listen = HostPort(host: "127.0.0.1", port: 0)
    configuration.metricsListen = HostPort(host: "127.0.0.1", port: 0)
    var logger = Logger(label: "loadgen-test-gateway")
    logger.logLevel = .error
    let (ready, readyContinuation) = AsyncStream.makeStream(of: GatewayService.Addresses.self)
    let service = GatewayService(
        configuration: configuration, configurationPath: nil, logger: logger,
        onReady: { readyContinuation.yield($0) })
    let group = ServiceGroup(services: [service], logger: logger)
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        var iterator = ready.makeAsyncIterator()
        guard let addresses = await iterator.next(),
            let agentPort = port(of: addresses.agents), let metricsPort = port(of: addresses.metrics)
        else {
            await group.triggerGracefulShutdown()
            throw GatewayStartError()
        }
        do {
            let result = try await body(InProcessGateway(agentPort: agentPort, metricsPort: metricsPort))
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return result
        } catch {
            await group.triggerGracefulShutdown()
            try? await tasks.waitForAll()
            throw error
        }
    }
}

struct GatewayStartError: Error {}

private func port(of address: String) -> Int? {
    guard let colon = address.lastIndex(of: ":") else { return nil }
    return Int(address[address.index(after: colon)...])
}
