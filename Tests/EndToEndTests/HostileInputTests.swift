import Foundation
import TestSupport
import Testing

/// Bad input on the agent and HTTP ports: the peer is refused with a reason, everyone else goes on.
@Suite("Hostile input")
struct HostileInputTests {
    /// Each payload is sent on its own connection; the gateway must answer with an error line
    /// and keep the healthy agent's series flowing.
    static let payloads: [(String, [UInt8])] = {
        var generator = SeededGenerator(seed: 0x5eed)
        let random = (0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return [
            ("random bytes", random),
            ("invalid JSON", Array(#"{"type":"hello",}"#.utf8)),
            ("not an object", Array("[1,2,3]\n".utf8)),
            ("unknown type", Array(#"{"type":"gossip"}"#.utf8) + [10]),
            ("sample before hello", Array(#"{"type":"sample","seq":1}"#.utf8) + [10]),
            ("oversize line without delimiter", Array(#"{"k":""#.utf8) + [UInt8](repeating: 0x61, count: 200_000)),
            (
                "oversize complete object",
                Array(#"{"k":""#.utf8) + [UInt8](repeating: 0x61, count: 70_000) + Array(#""}"#.utf8)
            ),
            ("deep nesting", [UInt8](repeating: UInt8(ascii: "["), count: 100_000)),
            ("deep object nesting", Array(String(repeating: #"{"a":"#, count: 20_000).utf8)),
            (
                "huge numbers",
                Array(
                    #"{"RAM usage: ": 1e400, "CPU usage: ": 1, "currentProccessRAM: ": 1, "CPU interrupts: ": 1}"#.utf8)
            ),
            (
                "negative interrupts",
                Array(#"{"RAM usage: ": 1, "CPU usage: ": 1, "currentProccessRAM: ": 1, "CPU interrupts: ": -5}"#.utf8)
            ),
            (
                "reserved name",
                Array(
                    #"{"type":"hello","protocol":1,"agent":"agent_1","version":"x","session":"0123456789abcdef"}"#.utf8)
                    + [10]
            ),
        ]
    }()

    /// Every refusal the gateway counted, whatever its reason.
    static func refusals(_ page: ExpositionPage) -> Double {
        page.series.filter { $0.name == "monitord_peer_errors_total" }.reduce(0) { $0 + $1.value }
    }

    @Test("malformed peers are refused and a healthy agent keeps flowing")
    func malformedPeers() async throws {
        try await withGateway { gateway in
            let agent = try AgentProcess.start(name: "e2e-healthy", gatewayPort: gateway.agentPort)
            defer { agent.process.signal(SIGKILL) }
            #expect(await eventually { try gateway.metrics().value("monitord_agent_up", agent: "e2e-healthy") == 1 })
            let before = try #require(
                try gateway.metrics().value("monitord_samples_received_total", agent: "e2e-healthy"))

            for (name, payload) in Self.payloads {
                let refusedBefore = try Self.refusals(gateway.metrics())
                let socket = try LoopbackSocket(port: gateway.agentPort)
                try? socket.send(payload)
                let answer = String(decoding: try socket.receiveAll(limit: 1 << 20), as: UTF8.self)
                socket.close()
                // An error line with the reason, report's format included (the refusal is counted too):
                // a gateway that closed silently would leave the peer's operator guessing.
                #expect(answer.contains(#""type":"error""#), "\(name): unexpected answer \(answer.prefix(200))")
                #expect(!answer.contains(#""type":"welcome""#), "\(name) was welcomed")
                #expect(
                    await eventually { try Self.refusals(gateway.metrics()) > refusedBefore },
                    "\(name): the gateway did not count a refusal (answer: \(answer.prefix(200)))")
            }

            #expect(
                await eventually {
                    try gateway.metrics().value("monitord_samples_received_total", agent: "e2e-healthy") ?? 0 > before
                        + 5
                }, "the healthy agent stopped flowing: \(gateway.process.output)")
            #expect(gateway.process.process.isRunning)
            let page = try gateway.metrics()
            #expect(page.value("monitord_agent_up", agent: "e2e-healthy") == 1)
            // No malformed peer became an agent.
            #expect(page.agents(exporting: "monitord_agent_up") == ["e2e-healthy"])
        }
    }

    @Test("connections beyond max-connections-per-address are refused with a reason, and counted")
    func connectionLimit() async throws {
        try await withGateway(extraConfiguration: "max-connections-per-address = 3\nhello-timeout = 30s\n") { gateway in
            let held = try (0..<3).map { _ in try LoopbackSocket(port: gateway.agentPort) }
            defer { held.forEach { $0.close() } }
            // The three are counted once the gateway has accepted them; the fourth is then refused.
            var answer = ""
            let refused = await eventually {
                let extra = try LoopbackSocket(port: gateway.agentPort)
                defer { extra.close() }
                answer = String(decoding: try extra.receiveAll(limit: 4096), as: UTF8.self)
                return answer.contains("max-connections-per-address")
            }
            #expect(refused, "fourth connection got: \(answer)")
            #expect(
                try gateway.metrics().series.contains {
                    $0.name == "monitord_peer_errors_total" && $0.labels["reason"] == "too_many_from_address"
                        && $0.value >= 1
                })
        }
    }

    @Test("a large /metrics page reaches a slow Connection: close client whole")
    func largePageToSlowClient() async throws {
        raiseOpenFileLimit(to: 4096)
        // 1,500 report-format peers: more than the default quota of anonymous agents.
        try await withGateway(extraConfiguration: "agent-timeout = 30s\nmax-anonymous-agents = 2000\n") { gateway in
            let report = Array(
                #"{"currentProccessRAM: ": 0.01, "RAM usage: ": 58.4, "CPU usage: ": 2.8, "CPU interrupts: ": 706148}"#
                    .utf8)
            let peers = try (0..<1500).map { _ in try LoopbackSocket(port: gateway.agentPort) }
            defer { peers.forEach { $0.close() } }
            for peer in peers { try peer.send(report) }
            #expect(
                await eventually { try gateway.metrics().agents(exporting: "process_ram_usage_percent").count == 1500 })
            // A tiny receive buffer and a late reader: most of the page is still queued in the
            // gateway when it has written the end of the response.
            let client = try LoopbackSocket(port: gateway.metricsPort, receiveBuffer: 4096)
            defer { client.close() }
            try client.send(Array("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8))
            try await Task.sleep(for: .milliseconds(500))
            let raw = String(decoding: try client.receiveAll(), as: UTF8.self)
            let split = try #require(raw.range(of: "\r\n\r\n"))
            let length = try #require(
                raw[..<split.lowerBound].split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
                    .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) })
            #expect(length > 500_000)
            #expect(raw.utf8.count - raw[..<split.upperBound].utf8.count == length, "the body was cut short")
        }
    }

    @Test("a peer that never says hello is closed after hello-timeout")
    func silentPeer() async throws {
        try await withGateway(extraConfiguration: "hello-timeout = 500ms\n") { gateway in
            let socket = try LoopbackSocket(port: gateway.agentPort)
            defer { socket.close() }
            let start = Date()
            let answer = String(decoding: try socket.receiveAll(), as: UTF8.self)
            let waited = Date().timeIntervalSince(start)
            #expect(answer.contains(#""type":"error""#) && answer.contains("hello"), "\(answer)")
            #expect(waited >= 0.4 && waited < 5, "closed after \(waited) s")
        }
    }

    @Test("HTTP: unknown paths are 404, other methods 405, oversized headers refused")
    func httpErrors() async throws {
        try await withGateway { gateway in
            #expect(try HTTPClient.get(port: gateway.metricsPort, path: "/nope").status == 404)
            let post = try HTTPClient.get(port: gateway.metricsPort, path: "/metrics", method: "POST")
            #expect(post.status == 405)
            #expect(post.headers["allow"] == "GET, HEAD")
            let metrics = try HTTPClient.get(port: gateway.metricsPort, path: "/metrics")
            #expect(metrics.status == 200)
            #expect(metrics.headers["content-type"]?.hasPrefix("text/plain; version=0.0.4") == true)
            let huge = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "a", count: 200_000))\r\n\r\n"
            let refused = try? HTTPClient.exchange(port: gateway.metricsPort, request: huge)
            #expect(
                refused == nil || refused!.status >= 400,
                "oversized headers answered \(String(describing: refused?.status))")
            // And the server still answers afterwards.
            #expect(try HTTPClient.get(port: gateway.metricsPort, path: "/metrics").status == 200)
        }
    }
}

extension HostileInputTests {
    /// The audit's crash: connections held open at the HTTP cap, then one more with a whole request.
    /// NIOHTTP1 traps when a response is written before a request. And audit 6, 01: connections whose
    /// request body never comes no longer hold their places: a scrape takes one.
    @Test("HTTP: beyond max-http-connections held by requests whose body never comes, a scrape is answered")
    func httpConnectionCap() async throws {
        try await withGateway(extraConfiguration: "agent-timeout = 3s\nmax-http-connections = 8\n") { gateway in
            var held: [LoopbackSocket] = []
            defer { for socket in held { socket.close() } }
            for _ in 0..<8 {
                let socket = try LoopbackSocket(port: gateway.metricsPort)
                // A request whose body never comes.
                try socket.send(Array("POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n".utf8))
                held.append(socket)
            }
            try await Task.sleep(for: .milliseconds(300))
            for _ in 0..<3 {
                let extra = try LoopbackSocket(port: gateway.metricsPort)
                try? extra.send(Array("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
                let answer = String(decoding: try extra.receiveAll(limit: 1 << 16), as: UTF8.self)
                extra.close()
                #expect(answer.hasPrefix("HTTP/1.1 200"), "beyond the cap: \(answer.prefix(200))")
            }
            try await Task.sleep(for: .milliseconds(500))
            #expect(gateway.process.process.isRunning, "monitord died: \(gateway.process.output)")
            for socket in held { socket.close() }
            held = []
            #expect(await eventually { try HTTPClient.get(port: gateway.metricsPort, path: "/metrics").status == 200 })
            #expect(gateway.process.process.isRunning, "monitord died: \(gateway.process.output)")
        }
    }
}

extension HostileInputTests {
    /// Audit 5, finding 03: clients holding keep-alive connections, each asking now and then, filled
    /// `max-http-connections`, and every scrape got 503. A full pool of connections waiting between
    /// requests (or that never sent one, or trickle their first) now makes room for a newcomer.
    @Test("HTTP: a pool full of waiting keep-alive connections makes room for a scrape")
    func waitingConnectionsMakeRoom() async throws {
        try await withGateway(extraConfiguration: "agent-timeout = 3s\nmax-http-connections = 8\n") { gateway in
            var held: [LoopbackSocket] = []
            defer { for socket in held { socket.close() } }
            for index in 0..<8 {
                let socket = try LoopbackSocket(port: gateway.metricsPort)
                switch index % 3 {
                // Answered and kept alive (the response sits unread in the socket).
                case 0: try socket.send(Array("GET /api/v1/agents HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
                // The start of a request, never finished.
                case 1: try socket.send(Array("GET /metrics HTTP/1.1\r\n".utf8))
                // Nothing at all.
                default: break
                }
                held.append(socket)
            }
            try await Task.sleep(for: .milliseconds(300))
            for _ in 0..<5 {
                #expect(try HTTPClient.get(port: gateway.metricsPort, path: "/metrics").status == 200)
            }
            let page = try gateway.metrics()
            #expect(page.value("monitord_http_connections_refused_total") == 0)
            // The first scrape took a waiting connection's place; each that follows takes the place
            // its predecessor left when it closed.
            #expect(page.value("monitord_http_connections_replaced_total") ?? 0 >= 1)
            #expect(gateway.process.process.isRunning, "monitord died: \(gateway.process.output)")
        }
    }
}

extension HostileInputTests {
    /// Audit 6, 02: a client pipelining requests and never reading had the gateway render page after
    /// page into a socket that never drained, on a connection never closed. Now its send buffer
    /// fills, the next request finds the channel not writable, and the connection is closed.
    @Test("HTTP: a client that pipelines requests without reading the answers is closed, not served for ever")
    func pipeliningWithoutReadingIsClosed() async throws {
        try await withGateway(extraConfiguration: "agent-timeout = 3s\n") { gateway in
            let socket = try LoopbackSocket(port: gateway.metricsPort, receiveBuffer: 1024)
            defer { socket.close() }
            let count = 500
            let request = Array("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
            try socket.send((0..<count).flatMap { _ in request })
            // Long enough for the gateway to fill the socket and find the next request (debug builds
            // render a page in milliseconds).
            try await Task.sleep(for: .seconds(8))
            let answers =
                String(decoding: try socket.receiveAll(), as: UTF8.self)
                .components(separatedBy: "HTTP/1.1 200 OK").count - 1
            #expect(answers < count, "all \(count) pipelined requests were answered to a client that did not read")
            #expect(answers > 0)
            #expect(try HTTPClient.get(port: gateway.metricsPort, path: "/metrics").status == 200)
        }
    }

    /// Audit 6, 02, the flood: 48 such clients at once. Each still gets pages until its socket is
    /// full, so what each page costs decides whether Prometheus is starved; a scrape read its
    /// `/proc` files byte by byte in debug builds (140 ms a page), and 48 clients took every
    /// scrape past its timeout. The bound is Prometheus' default scrape timeout (10 s) halved.
    @Test("HTTP: 48 clients pipelining without reading do not keep a scrape from its answer")
    func pipeliningFloodLeavesScrapesAnswered() async throws {
        try await withGateway { gateway in
            let request = Array("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".utf8)
            let flood = try (0..<48).map { _ in
                let socket = try LoopbackSocket(port: gateway.metricsPort, receiveBuffer: 1024)
                try socket.send((0..<400).flatMap { _ in request })
                return socket
            }
            defer { flood.forEach { $0.close() } }
            for _ in 0..<4 {
                let clock = ContinuousClock()
                let start = clock.now
                let status = try HTTPClient.get(port: gateway.metricsPort, path: "/metrics").status
                let waited = clock.now - start
                #expect(status == 200)
                #expect(waited < .seconds(5), "a scrape waited \(waited) behind clients that never read")
                try await Task.sleep(for: .seconds(1))
            }
        }
    }
}
