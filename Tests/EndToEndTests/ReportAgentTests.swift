import Foundation
import TestSupport
import Testing

/// The report's own agent, unchanged, against monitord: SPEC §1 compatibility.
@Suite("The report's Python agent")
struct ReportAgentTests {
    @Test("two report agents are labelled agent_1 and agent_2, with all four families")
    func twoReportAgents() async throws {
        try await withGateway { gateway in
            let first = try startReportAgent(port: gateway.agentPort)
            defer { first.signal(SIGKILL) }
            // Connection order decides the label, as in the report: wait for the first before the second.
            #expect(
                await eventually {
                    try gateway.metrics().value("monitord_samples_received_total", agent: "agent_1") != nil
                })
            let second = try startReportAgent(port: gateway.agentPort)
            defer { second.signal(SIGKILL) }
            let bothReported = await eventually {
                let page = try gateway.metrics()
                return ExpositionPage.reportFamilies.allSatisfy {
                    page.agents(exporting: $0) == ["agent_1", "agent_2"]
                }
            }
            #expect(bothReported, "log: \(gateway.process.output)\nagent: \(first.output)")

            let page = try gateway.metrics()
            for agent in ["agent_1", "agent_2"] {
                // The gateway refuses percentages outside 0...100, so only what it cannot know is checked:
                // a host uses some memory; the CPU figure is there (any value in range is possible).
                let ram = try #require(page.value("process_ram_usage_percent", agent: agent))
                #expect(ram > 0)
                _ = try #require(page.value("process_cpu_usage_percent", agent: agent))
                let rss = try #require(page.value("process_ram_gigabytes", agent: agent))
                // A Python interpreter with psutil: between 1 MiB and 1 GiB of RSS.
                #expect(rss > 1.0 / 1024 && rss < 1)
                let interrupts = try #require(page.value("process_cpu_interrupts_total", agent: agent))
                #expect(interrupts > 0)
                #expect(page.value("monitord_agent_up", agent: agent) == 1)
            }
        }
    }

    @Test("objects split across reads and glued together are each counted once, with exact values")
    func streamSplitting() async throws {
        try await withGateway { gateway in
            let socket = try LoopbackSocket(port: gateway.agentPort)
            defer { socket.close() }
            let message =
                #"{"currentProccessRAM: ": 0.00927734375, "RAM usage: ": 58.4, "CPU usage: ": 2.8, "CPU interrupts: ": 706148}"#
            let bytes = Array(message.utf8)
            // One object in three pieces, with pauses so that they arrive as separate reads.
            try socket.send(Array(bytes[0..<10]))
            try await Task.sleep(for: .milliseconds(150))
            try socket.send(Array(bytes[10..<50]))
            try await Task.sleep(for: .milliseconds(150))
            try socket.send(Array(bytes[50...]))
            // Then two objects back to back in one send, as the report's agent can produce.
            try socket.send(bytes + bytes)
            let counted = await eventually {
                try gateway.metrics().value("monitord_samples_received_total", agent: "agent_1") == 3
            }
            #expect(counted, "\(String(describing: try? gateway.metrics().text))")
            let page = try gateway.metrics()
            #expect(page.value("process_ram_usage_percent", agent: "agent_1") == 58.4)
            #expect(page.value("process_cpu_usage_percent", agent: "agent_1") == 2.8)
            #expect(page.value("process_ram_gigabytes", agent: "agent_1") == 0.00927734375)
            #expect(page.value("process_cpu_interrupts_total", agent: "agent_1") == 706148)
        }
    }
}
