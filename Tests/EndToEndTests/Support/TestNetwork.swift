import Foundation
import TestSupport

/// Two network namespaces joined by a veth pair: the project's own test hosts, on addresses
/// that exist only inside them. Made and removed by the test (needs root and iproute2).
struct TestNetwork {
    static let gatewayAddress = "10.231.0.1"
    static let agentAddress = "10.231.0.2"
    let gatewayNamespace: String
    let agentNamespace: String

    static func create() throws -> TestNetwork {
        let suffix = String(getpid())
        let network = TestNetwork(gatewayNamespace: "mdgw\(suffix)", agentNamespace: "mdag\(suffix)")
        network.destroy()
        let g = network.gatewayNamespace
        let a = network.agentNamespace
        try run(
            """
            ip netns add \(g)
            ip netns add \(a)
            ip link add vg\(suffix) netns \(g) type veth peer name va\(suffix) netns \(a)
            ip -n \(g) addr add \(gatewayAddress)/24 dev vg\(suffix)
            ip -n \(a) addr add \(agentAddress)/24 dev va\(suffix)
            ip -n \(g) link set lo up
            ip -n \(a) link set lo up
            ip -n \(g) link set vg\(suffix) up
            ip -n \(a) link set va\(suffix) up
            """)
        return network
    }

    func destroy() {
        _ = try? Self.run(
            "ip netns del \(gatewayNamespace) 2>/dev/null; ip netns del \(agentNamespace) 2>/dev/null; true")
    }

    func setAgentLink(up: Bool) throws {
        let suffix = agentNamespace.dropFirst(4)
        try Self.run("ip -n \(agentNamespace) link set va\(suffix) \(up ? "up" : "down")")
    }

    /// `executable --config configuration`, run inside `namespace` (one of this network's two).
    func start(_ executable: String, configuration: String, in namespace: String, name: String) throws
        -> RunningProcess
    {
        try RunningProcess(
            executable: "/usr/bin/env",
            arguments: ["ip", "netns", "exec", namespace, executable, "--config", configuration],
            name: name)
    }

    /// /metrics from inside the gateway's namespace.
    func fetchMetrics() throws -> ExpositionPage {
        let output = try Self.run(
            "ip netns exec \(gatewayNamespace) curl -fsS --max-time 5 http://\(Self.gatewayAddress):8001/metrics")
        return ExpositionPage(text: output)
    }

    @discardableResult
    static func run(_ script: String) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-euo", "pipefail", "-c", script]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let output = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else { throw E2EError("\(script)\nfailed: \(output)") }
        return output
    }
}
