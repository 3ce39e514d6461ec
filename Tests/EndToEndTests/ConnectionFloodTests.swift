import Foundation
import Testing

/// Thousands of connections that never say hello, then all closed at once (audit 4, finding 12):
/// while each connection carried scheduled tasks, NIO searched every task of the loop to cancel
/// one, so the closes cost O(n²) and stalled every agent's acks and every scrape (45 s for 8,000
/// connections in the debug build). With one deadline sweeper per loop, closing costs no search.
@Suite("Connection flood", .serialized)
struct ConnectionFloodTests {
    /// Raw TCP connections to `port` from `source`, which say nothing.
    static func openSilentConnections(count: Int, from source: String, to port: Int) throws -> [Int32] {
        var descriptors: [Int32] = []
        for _ in 0..<count {
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard descriptor >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            inet_pton(AF_INET, source, &local.sin_addr)
            var remote = sockaddr_in()
            remote.sin_family = sa_family_t(AF_INET)
            remote.sin_port = in_port_t(UInt16(port).bigEndian)
            inet_pton(AF_INET, "127.0.0.1", &remote.sin_addr)
            let connected = withUnsafePointer(to: &local) { localPointer in
                withUnsafePointer(to: &remote) { remotePointer in
                    localPointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { localAddress in
                        remotePointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { remoteAddress in
                            bind(descriptor, localAddress, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
                                && connect(descriptor, remoteAddress, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
                        }
                    }
                }
            }
            guard connected else {
                let code = errno
                close(descriptor)
                throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO)
            }
            descriptors.append(descriptor)
        }
        return descriptors
    }

    /// User and system CPU seconds `pid` has used (/proc/PID/stat, fields 14 and 15, in clock ticks).
    static func cpuSeconds(of pid: Int32) throws -> Double {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        let fields = stat[stat.index(after: try #require(stat.lastIndex(of: ")")))...].split(separator: " ")
        // After the command's closing parenthesis, field 3 (state) is the first.
        let ticks = (Double(fields[11]) ?? 0) + (Double(fields[12]) ?? 0)
        return ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// How many descriptors `pid` has open.
    static func openDescriptors(of pid: Int32) -> Int {
        (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? 0
    }

    @Test("8,000 silent connections closed at once cost the gateway little, and its agents nothing")
    func closingAFloodCostsLittle() async throws {
        // The test process needs a descriptor per connection; the gateway raises its own limit.
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        // Root may raise the hard limit too (a CI machine's may be low); elsewhere this fails harmlessly.
        if limit.rlim_max < 20000 {
            var raised = rlimit(rlim_cur: 20000, rlim_max: 20000)
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) == 0 { limit = raised }
        }
        limit.rlim_cur = limit.rlim_max
        setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        let perAddress = 2000
        let addresses = min(4, (Int(limit.rlim_cur) - 500) / perAddress)
        try #require(addresses >= 2, "the hard descriptor limit \(limit.rlim_max) is too low for this test")
        try await withGateway(extraConfiguration: "agent-timeout = 10s\nhello-timeout = 120s\n") { gateway in
            let agent = try AgentProcess.start(name: "e2e-flood-bystander", gatewayPort: gateway.agentPort)
            defer { agent.process.signal(SIGKILL) }
            #expect(
                await eventually { try gateway.metrics().value("monitord_agent_up", agent: "e2e-flood-bystander") == 1 }
            )
            func accepted() throws -> Double {
                try gateway.metrics().series.first { $0.name == "monitord_connections_accepted_total" }?.value ?? 0
            }
            let acceptedBefore = try accepted()
            var flood: [Int32] = []
            defer { for descriptor in flood { close(descriptor) } }
            for address in 1...addresses {
                flood += try Self.openSilentConnections(
                    count: perAddress, from: "127.0.9.\(address)", to: gateway.agentPort)
            }
            #expect(
                await eventually(timeout: 60) { try accepted() - acceptedBefore >= Double(flood.count) },
                "the gateway never held the \(flood.count) connections")

            let descriptorsHeld = Self.openDescriptors(of: gateway.process.pid)
            let cpuBefore = try Self.cpuSeconds(of: gateway.process.pid)
            let endedAt = Date()
            for descriptor in flood { close(descriptor) }
            flood = []
            // The gateway's descriptors tell when it has ended them all.
            #expect(
                await eventually(timeout: 120, every: .milliseconds(50)) {
                    Self.openDescriptors(of: gateway.process.pid) <= descriptorsHeld - addresses * perAddress + 50
                }, "the gateway did not end the flood's connections")
            let took = Date().timeIntervalSince(endedAt)
            let closingCPU = try Self.cpuSeconds(of: gateway.process.pid) - cpuBefore
            // Debug build, idle machine: 3.2 s of CPU over 1.7 s before (each close searched every
            // scheduled task of its loop), 0.8 s over 0.5 s after.
            #expect(
                closingCPU < 2,
                "closing \(addresses * perAddress) connections cost \(closingCPU) s of CPU over \(took) s")
            // The connected agent is still acknowledged, and a scrape answers at once.
            let before =
                try gateway.metrics().value("monitord_samples_received_total", agent: "e2e-flood-bystander") ?? 0
            #expect(
                await eventually(timeout: 5) {
                    try gateway.metrics().value("monitord_samples_received_total", agent: "e2e-flood-bystander") ?? 0
                        > before
                }, "the connected agent's samples stopped after the flood")
        }
    }
}
