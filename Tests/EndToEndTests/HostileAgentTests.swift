import Foundation
import Synchronization
import TestSupport
import Testing

/// Hostile AGENTS against the real monitord: scripted peers sending every client message with
/// boundary values, out of order, trickled, churned, and enough of them from one address to
/// run the gateway out of descriptors. After each attack a healthy agent must still flow and
/// `/metrics` must answer. Every test prints a `FIGURE hostile-agents ...` line with what it tried.
@Suite("Hostile agents", .serialized)
struct HostileAgentTests {
    /// What a scripted connection must get from the gateway.
    enum Expectation {
        /// An error line, then the close; never a welcome or an ack for what the script sent.
        case refused
        /// A welcome (and nothing else).
        case welcomed
        /// After a welcome, an ack for exactly this sequence (the last line the gateway sends).
        case acked(UInt64)
        /// Any answer or none (the report's format is never answered), as long as the gateway closes after our end.
        case anything
    }

    struct Script {
        var name: String
        var lines: [String]
        var expectation: Expectation
    }

    /// Counts what the attacks did, for the FIGURE line.
    final class Tally: @unchecked Sendable {
        private let counts = Mutex((connections: 0, hangs: 0, crashes: 0, wrong: 0))
        func connection() { counts.withLock { $0.connections += 1 } }
        func hang() { counts.withLock { $0.hangs += 1 } }
        func crash() { counts.withLock { $0.crashes += 1 } }
        func wrong() { counts.withLock { $0.wrong += 1 } }
        var value: (connections: Int, hangs: Int, crashes: Int, wrong: Int) { counts.withLock { $0 } }

        func figure(_ test: String) -> String {
            let v = value
            return "FIGURE hostile-agents \(test): connections tried \(v.connections), crashes \(v.crashes), "
                + "hangs \(v.hangs), wrong answers \(v.wrong)"
        }
    }

    static let uint63 = "9223372036854775808"
    static let uint64Max = "18446744073709551615"
    static let uint64Over = "18446744073709551616"

    /// Every client message with boundary and wrong-typed values, each on its own connection.
    static var scripts: [Script] {
        var scripts: [Script] = []
        var unique = 0
        func name() -> String {
            unique += 1
            return "\"hostile-\(unique)\""
        }
        // The hello, field by field.
        for (value, ok) in [
            ("1", true), ("0", false), ("2", false), (uint63, false), (uint64Max, false), (uint64Over, false),
            ("-1", false), ("1.5", false), ("1e300", false), ("\"1\"", false), ("null", false), ("true", false),
            ("[1]", false), ("{}", false),
        ] {
            scripts.append(
                Script(
                    name: "hello protocol \(value)",
                    lines: [HostileMessages.hello(agent: name(), protocolVersion: value)],
                    expectation: ok ? .welcomed : .refused))
        }
        for (value, ok) in [
            ("\"\"", false), (HostileMessages.longString(64), true), (HostileMessages.longString(65), false),
            (HostileMessages.longString(60_000), false), ("\"agent_7\"", false), ("\"a b\"", false),
            ("\"caf\\u00e9\"", false), ("5", false), ("null", false), ("[\"x\"]", false), ("\"__proto__\"", true),
        ] {
            scripts.append(
                Script(
                    name: "hello agent \(value.prefix(20))", lines: [HostileMessages.hello(agent: value)],
                    expectation: ok ? .welcomed : .refused))
        }
        for (value, ok) in [
            ("\"\"", false), ("5", false), (HostileMessages.longString(60_000), false), ("null", false),
        ] {
            scripts.append(
                Script(
                    name: "hello session \(value.prefix(20))",
                    lines: [HostileMessages.hello(agent: name(), session: value)],
                    expectation: ok ? .welcomed : .refused))
        }
        scripts.append(
            Script(
                name: "hello version huge",
                lines: [HostileMessages.hello(agent: name(), version: HostileMessages.longString(60_000))],
                expectation: .anything))
        scripts.append(
            Script(
                name: "hello token without tokens-file",
                lines: [HostileMessages.hello(agent: name(), extra: #","token":"0123456789abcdef0123""#)],
                expectation: .welcomed))
        scripts.append(
            Script(
                name: "hello with a duplicate key",
                lines: [HostileMessages.hello(agent: name(), extra: #","agent":"x""#)],
                expectation: .refused))
        scripts.append(
            Script(
                name: "two hellos", lines: [HostileMessages.hello(agent: name()), HostileMessages.hello()],
                expectation: .refused))

        // Samples before the hello, and after it with every boundary of every field.
        for seq in ["0", "1", uint64Max, "-1", "1.5"] {
            scripts.append(
                Script(
                    name: "sample seq \(seq) before hello", lines: [HostileMessages.sample(seq: seq)],
                    expectation: .refused))
        }
        let sampleCases: [(String, String, Expectation)] = [
            ("seq 0", HostileMessages.sample(seq: "0"), .refused),
            ("seq 1", HostileMessages.sample(seq: "1"), .acked(1)),
            ("seq 2^63", HostileMessages.sample(seq: uint63), .acked(UInt64(uint63)!)),
            ("seq 2^64-1", HostileMessages.sample(seq: uint64Max), .acked(UInt64.max)),
            ("seq 2^64", HostileMessages.sample(seq: uint64Over), .refused),
            ("seq -1", HostileMessages.sample(seq: "-1"), .refused),
            ("seq 1.5", HostileMessages.sample(seq: "1.5"), .refused),
            ("seq 1e3", HostileMessages.sample(seq: "1e3"), .refused),
            ("seq string", HostileMessages.sample(seq: "\"1\""), .refused),
            ("seq null", HostileMessages.sample(seq: "null"), .refused),
            ("seq object", HostileMessages.sample(seq: "{}"), .refused),
            (
                "ts a year ahead", HostileMessages.sample(ts: String(Date().timeIntervalSince1970 + 365 * 86400)),
                .acked(1)
            ),
            ("ts 1e308", HostileMessages.sample(ts: "1e308"), .acked(1)),
            ("ts 1 (1970)", HostileMessages.sample(ts: "1"), .acked(1)),
            ("ts 0", HostileMessages.sample(ts: "0"), .refused),
            ("ts -1", HostileMessages.sample(ts: "-1"), .refused),
            ("ts string", HostileMessages.sample(ts: "\"now\""), .refused),
            ("ram -1", HostileMessages.sample(ram: "-1"), .refused),
            ("ram 100.5", HostileMessages.sample(ram: "100.5"), .refused),
            ("ram 1e400", HostileMessages.sample(ram: "1e400"), .refused),
            ("cpu null", HostileMessages.sample(cpu: "null"), .refused),
            ("gib -0.1", HostileMessages.sample(gib: "-0.1"), .refused),
            ("interrupts 2^63", HostileMessages.sample(interrupts: uint63), .acked(1)),
            ("interrupts 2^64-1", HostileMessages.sample(interrupts: uint64Max), .refused),
            ("interrupts -1", HostileMessages.sample(interrupts: "-1"), .refused),
            ("interrupts 1.5", HostileMessages.sample(interrupts: "1.5"), .refused),
            ("unknown type", #"{"type":"gossip","seq":1}"#, .refused),
            ("report object after hello", HostileMessages.reportFormat(), .refused),
            ("huge unknown field", #"{"type":"sample","x":\#(HostileMessages.longString(60_000))}"#, .refused),
        ]
        for (label, line, expectation) in sampleCases {
            scripts.append(
                Script(
                    name: "sample \(label)", lines: [HostileMessages.hello(agent: name()), line],
                    expectation: expectation))
        }
        scripts.append(
            Script(
                name: "samples out of order",
                lines: [
                    HostileMessages.hello(agent: name()), HostileMessages.sample(seq: "5"),
                    HostileMessages.sample(seq: "3"),
                    HostileMessages.sample(seq: "4"),
                ], expectation: .acked(5)))
        scripts.append(
            Script(
                name: "the same sample twice",
                lines: [
                    HostileMessages.hello(agent: name()), HostileMessages.sample(seq: "7"),
                    HostileMessages.sample(seq: "7"),
                ],
                expectation: .acked(7)))

        // The report's format: never answered, never a crash.
        for (label, line) in [
            ("valid", HostileMessages.reportFormat()), ("ram 1e400", HostileMessages.reportFormat(ram: "1e400")),
            ("interrupts -5", HostileMessages.reportFormat(interrupts: "-5")),
            ("interrupts 2^64", HostileMessages.reportFormat(interrupts: uint64Over)),
            ("ram string", HostileMessages.reportFormat(ram: "\"x\"")),
            ("hello after it", HostileMessages.reportFormat()),
        ] {
            scripts.append(Script(name: "report \(label)", lines: [line], expectation: .anything))
        }
        scripts.append(
            Script(
                name: "report then hello", lines: [HostileMessages.reportFormat(), HostileMessages.hello()],
                expectation: .refused))
        scripts.append(Script(name: "not an object", lines: ["[1,2,3]"], expectation: .refused))
        scripts.append(Script(name: "bare number", lines: [uint64Max], expectation: .refused))
        return scripts
    }

    /// Runs one script on a fresh connection and judges the gateway's answers.
    static func run(_ script: Script, port: Int, tally: Tally) throws -> String? {
        tally.connection()
        let peer = try HostilePeer(port: port)
        defer { peer.close() }
        for line in script.lines {
            // A refused peer may be closed before the rest is sent; that is an answer, not a failure.
            guard (try? peer.send(line: line)) != nil else { break }
        }
        // The answers are read before the peer ends its side: the gateway closes a connection at the
        // peer's end, and what it still had to say is then lost.
        switch script.expectation {
        case .refused:
            break
        case .welcomed, .acked, .anything:
            let wanted: String? =
                switch script.expectation {
                case .welcomed: #""type":"welcome""#
                case .acked(let sequence): #""type":"ack","seq":\#(sequence)}"#
                default: nil
                }
            while let line = peer.nextLine(timeout: wanted == nil ? 0.5 : 8) {
                if let wanted, line.contains(wanted) { break }
                if line.contains(#""type":"error""#) { break }
            }
            peer.finishSending()
        }
        if peer.waitForClose(timeout: 8) == .hung {
            tally.hang()
            return "\(script.name): the gateway neither answered nor closed within 8 s (got \(peer.everything))"
        }
        let lines = peer.everything
        let types = lines.map { $0.firstMatch(of: /"type":"(\w+)"/).map { String($0.1) } ?? "?" }
        var problem: String?
        switch script.expectation {
        case .refused:
            if types.last != "error" || types.contains("ack") {
                problem = "expected an error line, got \(lines.map { $0.prefix(120) })"
            }
        case .welcomed:
            if types != ["welcome"] { problem = "expected a welcome, got \(lines.map { $0.prefix(120) })" }
        case .acked(let sequence):
            if types.first != "welcome" || lines.last?.contains(#""type":"ack","seq":\#(sequence)}"#) != true {
                problem = "expected an ack of \(sequence), got \(lines.map { $0.prefix(120) })"
            }
        case .anything:
            if types.contains("welcome") || types.contains("ack") {
                problem = "a welcome or ack for a script that deserves none: \(lines.map { $0.prefix(120) })"
            }
        }
        if problem != nil { tally.wrong() }
        return problem.map { "\(script.name): \($0)" }
    }

    /// After an attack: the gateway runs, /metrics answers, and the healthy agent's count goes on rising.
    static func checkHealthy(_ gateway: GatewayProcess, agent: String, tally: Tally, after attack: String) async
        -> String?
    {
        guard gateway.process.process.isRunning else {
            tally.crash()
            return "\(attack): monitord is gone:\n\(gateway.process.output.suffix(2000))"
        }
        guard let before = try? gateway.metrics().value("monitord_samples_received_total", agent: agent) else {
            tally.hang()
            return "\(attack): /metrics did not answer, or the healthy agent is missing"
        }
        let flowing = await eventually(timeout: 10, every: .milliseconds(50)) {
            try gateway.metrics().value("monitord_samples_received_total", agent: agent) ?? 0 > before
        }
        return flowing ? nil : "\(attack): the healthy agent stopped flowing"
    }

    @Test("every client message with every boundary value: refused or answered, never a crash or a hang")
    func boundaryValues() async throws {
        let tally = Tally()
        try await withGateway(extraConfiguration: "agent-timeout = 5s\nforget-after = 30s\nhello-timeout = 3s\n") {
            gateway in
            let healthy = try AgentProcess.start(name: "hostile-healthy", gatewayPort: gateway.agentPort)
            defer { healthy.process.signal(SIGKILL) }
            #expect(
                await eventually { try gateway.metrics().value("monitord_agent_up", agent: "hostile-healthy") == 1 })
            for (index, script) in Self.scripts.enumerated() {
                if let problem = try Self.run(script, port: gateway.agentPort, tally: tally) {
                    Issue.record(Comment(rawValue: problem))
                }
                // The healthy agent is checked every few scripts: each check waits for a sample.
                if index % 8 == 7,
                    let problem = await Self.checkHealthy(
                        gateway, agent: "hostile-healthy", tally: tally, after: script.name)
                {
                    Issue.record(Comment(rawValue: problem))
                    return
                }
            }
            if let problem = await Self.checkHealthy(gateway, agent: "hostile-healthy", tally: tally, after: "the end")
            {
                Issue.record(Comment(rawValue: problem))
            }
        }
        print(tally.figure("boundary values (\(Self.scripts.count) scripts)"))
        let result = tally.value
        #expect(result.crashes == 0 && result.hangs == 0 && result.wrong == 0)
    }

    @Test("a second connection with the same name wins; the older one is closed with an error, never acked again")
    func nameTakeover() async throws {
        let tally = Tally()
        try await withGateway { gateway in
            let older = try HostilePeer(port: gateway.agentPort)
            tally.connection()
            try older.send(line: HostileMessages.hello(agent: "\"victim\"", session: "\"aaaaaaaaaaaaaaaa\""))
            #expect(older.nextLine(timeout: 5)?.contains("welcome") == true)
            try older.send(line: HostileMessages.sample(seq: "1"))
            #expect(older.nextLine(timeout: 5)?.contains(#""ack","seq":1"#) == true)

            let newer = try HostilePeer(port: gateway.agentPort)
            tally.connection()
            try newer.send(line: HostileMessages.hello(agent: "\"victim\"", session: "\"bbbbbbbbbbbbbbbb\""))
            #expect(newer.nextLine(timeout: 5)?.contains("welcome") == true)

            // The older connection may still send: nothing it sends from now on is acknowledged.
            try? older.send(line: HostileMessages.sample(seq: "2"))
            _ = older.nextLine(timeout: 3)
            older.finishSending()
            if older.waitForClose(timeout: 8) == .hung { tally.hang() }
            let answers = older.everything.dropFirst(2)
            #expect(!answers.contains { $0.contains("ack") }, "the superseded connection was acked: \(answers)")
            #expect(answers.last?.contains(#""type":"error""#) == true, "no error line: \(answers)")

            try newer.send(line: HostileMessages.sample(seq: "1"))
            #expect(newer.nextLine(timeout: 5)?.contains(#""ack","seq":1"#) == true, "the newer connection")
            let page = try gateway.metrics()
            #expect(page.value("monitord_samples_received_total", agent: "victim") == 2)
            newer.close()
        }
        print(tally.figure("name takeover"))
        #expect(tally.value.hangs == 0)
    }

    @Test("an agent flooding beyond max-samples-per-second is paced by TCP: acks lag its sending, the connection stays")
    func floodIsPaced() async throws {
        try await withGateway(extraConfiguration: "max-samples-per-second = 20\nagent-timeout = 30s\n") { gateway in
            let peer = try HostilePeer(port: gateway.agentPort)
            defer { peer.close() }
            try peer.send(line: HostileMessages.hello(agent: "\"flood\""))
            #expect(peer.nextLine(timeout: 5)?.contains("welcome") == true)
            // 30 samples every 100 ms for 3 s: 300 samples/s, each burst in a read of its own.
            var sent: UInt64 = 0
            for _ in 0..<30 {
                let burst = (1...30).map { _ -> String in
                    sent += 1
                    return HostileMessages.sample(seq: "\(sent)")
                }
                try peer.send(Array((burst.joined(separator: "\n") + "\n").utf8))
                try await Task.sleep(for: .milliseconds(100))
            }
            func highestAck() -> UInt64 {
                _ = peer.nextLine(timeout: 0.2)
                return peer.everything.compactMap { line in
                    line.firstMatch(of: /"ack","seq":(\d+)/).flatMap { UInt64($0.1) }
                }.max() ?? 0
            }
            // Unpaced, all 900 are acknowledged within milliseconds; at 20 per second about a tenth is.
            let acked = highestAck()
            #expect(acked > 0 && acked < sent / 2, "acknowledged \(acked) of \(sent) after 3 s at 20 samples/s")
            // Paced, not refused: what was sent is read later, and acknowledged.
            let later = await eventually(timeout: 10) { highestAck() > acked }
            #expect(later, "no ack after the pause: \(peer.everything.suffix(3))")
            #expect(!peer.everything.contains { $0.contains("error") }, "refused: \(peer.everything.suffix(3))")
        }
    }

    @Test("a peer churning connections cannot flood the log; the healthy agent is unaffected")
    func churn() async throws {
        let tally = Tally()
        try await withGateway { gateway in
            let healthy = try AgentProcess.start(name: "churn-healthy", gatewayPort: gateway.agentPort)
            defer { healthy.process.signal(SIGKILL) }
            #expect(await eventually { try gateway.metrics().value("monitord_agent_up", agent: "churn-healthy") == 1 })
            let start = Date()
            for index in 0..<400 {
                tally.connection()
                let peer = try HostilePeer(port: gateway.agentPort)
                try? peer.send(line: HostileMessages.hello(agent: "\"churn-\(index % 5)\""))
                _ = peer.nextLine(timeout: 2)
                peer.close()
            }
            let seconds = Date().timeIntervalSince(start)
            if let problem = await Self.checkHealthy(gateway, agent: "churn-healthy", tally: tally, after: "churn") {
                Issue.record(Comment(rawValue: problem))
            }
            let output = gateway.process.output
            let logged =
                output.matches(of: /agent connected/).count + output.matches(of: /agent disconnected/).count
            // 800 events in a few seconds; a throttled log keeps a few lines per window plus its summaries.
            #expect(logged < 100, "\(logged) connect/disconnect lines for 400 connections in \(seconds) s")
            print("FIGURE hostile-agents churn: 400 connections in \(Int(seconds * 1000)) ms, \(logged) log lines")
        }
        print(tally.figure("churn"))
    }

    @Test("peers trickling bytes are closed by a deadline, on the agent port and on HTTP")
    func trickle() async throws {
        let tally = Tally()
        try await withGateway(
            extraConfiguration:
                "agent-timeout = 30s\nforget-after = 60s\nhello-timeout = 2s\nhttp-request-timeout = 2s\n"
        ) { gateway in
            // 1: a hello, one byte every 300 ms: longer than hello-timeout in all.
            let hello = try HostilePeer(port: gateway.agentPort)
            tally.connection()
            var start = Date()
            await hello.trickle(
                Array((HostileMessages.hello(agent: "\"trickle\"") + "\n").utf8), gap: .milliseconds(300))
            if hello.waitForClose(timeout: 5) == .hung { tally.hang() }
            #expect(Date().timeIntervalSince(start) < 6, "hello trickle held for \(Date().timeIntervalSince(start)) s")

            // 2: a proper hello, then a sample trickled one byte every 300 ms: each byte resets an idle timer,
            // only a deadline on the message stops it.
            let sample = try HostilePeer(port: gateway.agentPort)
            tally.connection()
            try sample.send(line: HostileMessages.hello(agent: "\"trickle-2\""))
            #expect(sample.nextLine(timeout: 5)?.contains("welcome") == true)
            start = Date()
            await sample.trickle(Array((HostileMessages.sample(seq: "1") + "\n").utf8), gap: .milliseconds(300))
            let sampleEnding = sample.waitForClose(timeout: 5)
            if sampleEnding == .hung { tally.hang() }
            let sampleHeld = Date().timeIntervalSince(start)
            #expect(sampleEnding == .closed && sampleHeld < 10, "a trickled sample held the connection \(sampleHeld) s")

            // 3: an HTTP request, one byte every 300 ms.
            let http = try HostilePeer(port: gateway.metricsPort)
            tally.connection()
            start = Date()
            let request =
                "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: " + String(repeating: "s", count: 60) + "\r\n\r\n"
            await http.trickle(Array(request.utf8), gap: .milliseconds(300))
            let httpEnding = http.waitForClose(timeout: 5)
            if httpEnding == .hung { tally.hang() }
            let httpHeld = Date().timeIntervalSince(start)
            #expect(httpEnding == .closed && httpHeld < 10, "a trickled request held the connection \(httpHeld) s")
            #expect(try HTTPClient.get(port: gateway.metricsPort, path: "/metrics").status == 200)
        }
        print(tally.figure("trickle"))
        #expect(tally.value.hangs == 0)
    }

    @Test("whitespace between objects is not progress: a peer sending only blanks is closed as silent")
    func whitespaceIsNotProgress() async throws {
        // The connection is closed at twice agent-timeout without a complete object.
        try await withGateway(extraConfiguration: "agent-timeout = 1s\nforget-after = 30s\nhello-timeout = 2s\n") {
            gateway in
            for dialect in ["native", "report"] {
                let peer = try HostilePeer(port: gateway.agentPort)
                defer { peer.close() }
                if dialect == "native" {
                    try peer.send(line: HostileMessages.hello(agent: "\"blanks\""))
                    #expect(peer.nextLine(timeout: 5)?.contains("welcome") == true)
                    try peer.send(line: HostileMessages.sample(seq: "1"))
                    #expect(peer.nextLine(timeout: 5)?.contains("ack") == true)
                } else {
                    try peer.send(line: HostileMessages.reportFormat())
                }
                let start = Date()
                // A blank, a newline or a tab every 200 ms, for up to 12 s.
                let blanks: [UInt8] = [32, 10, 9, 13]
                var index = 0
                var ending = HostilePeer.Ending.hung
                while Date().timeIntervalSince(start) < 12 {
                    guard (try? peer.send([blanks[index % blanks.count]])) != nil else { break }
                    index += 1
                    ending = peer.waitForClose(timeout: 0.2)
                    if ending == .closed { break }
                }
                let held = Date().timeIntervalSince(start)
                #expect(ending == .closed && held < 5, "\(dialect): blanks held the connection \(held) s")
            }
            let idleCloses = try gateway.metrics().series.first {
                $0.name == "monitord_peer_errors_total" && $0.labels["reason"] == "idle_timeout"
            }
            #expect(idleCloses?.value == 2, "\(String(describing: idleCloses))")
            #expect(try gateway.metrics().value("monitord_agent_up", agent: "blanks") == 0)
        }
    }

    @Test(
        "descriptor exhaustion from one address: the healthy agent flows, a new agent and a scrape are answered")
    func descriptorExhaustion() async throws {
        raiseOpenFileLimit(to: 8192)
        let tally = Tally()
        // monitord under a 256-descriptor limit, as if systemd's default were far below max-connections.
        let directory = try makeTemporaryDirectory()
        let configPath = directory + "/monitord.conf"
        try """
        [monitord]
        listen = 127.0.0.1:0
        metrics-listen = 127.0.0.1:0
        agent-timeout = 5s
        forget-after = 30s
        hello-timeout = 30s

        """.write(toFile: configPath, atomically: true, encoding: .utf8)
        let process = try RunningProcess(
            executable: "/usr/bin/prlimit",
            arguments: ["--nofile=256:256", "--", Products.monitord, "--config", configPath], name: "monitord")
        defer { process.signal(SIGKILL) }
        var ports: (Int, Int)?
        #expect(
            await eventually(timeout: 20) {
                ports = parseListening(process.output)
                return ports != nil
            })
        guard let (agentPort, metricsPort) = ports else { return }
        let healthy = try AgentProcess.start(name: "fd-healthy", gatewayPort: agentPort)
        defer { healthy.process.signal(SIGKILL) }
        func metrics(timeout: Int = 5) -> ExpositionPage? {
            guard let response = try? HTTPClient.get(port: metricsPort, path: "/metrics"), response.status == 200 else {
                return nil
            }
            return ExpositionPage(text: response.body)
        }
        #expect(await eventually { metrics()?.value("monitord_agent_up", agent: "fd-healthy") == 1 })
        let before = metrics()?.value("monitord_samples_received_total", agent: "fd-healthy") ?? 0

        // 600 silent connections from 127.0.0.1: more than the gateway has descriptors.
        var held: [HostilePeer] = []
        defer { held.forEach { $0.close() } }
        for _ in 0..<600 {
            tally.connection()
            guard let peer = try? HostilePeer(port: agentPort) else { break }
            held.append(peer)
        }
        try await Task.sleep(for: .seconds(1))

        // A scrape is answered.
        tally.connection()
        let scraped = metrics()
        if scraped == nil { tally.hang() }
        #expect(scraped != nil, "/metrics did not answer under descriptor exhaustion")

        // A new native agent gets a welcome or an error line, never silence.
        let newcomer = try HostilePeer(port: agentPort)
        tally.connection()
        try newcomer.send(line: HostileMessages.hello(agent: "\"fd-newcomer\""))
        let answer = newcomer.nextLine(timeout: 5)
        if answer == nil { tally.hang() }
        #expect(
            answer?.contains("welcome") == true || answer?.contains("error") == true,
            "newcomer got \(String(describing: answer))")
        newcomer.close()

        // The healthy agent goes on.
        let flowing = await eventually(timeout: 10) {
            metrics()?.value("monitord_samples_received_total", agent: "fd-healthy") ?? 0 > before + 3
        }
        #expect(flowing, "the healthy agent stopped flowing")
        if !process.process.isRunning { tally.crash() }
        #expect(process.output.contains("descriptor"), "no warning about the descriptor limit:\n\(process.output)")
        print(tally.figure("descriptor exhaustion"))
        let result = tally.value
        #expect(result.crashes == 0 && result.hangs == 0)
    }

    @Test(
        "a backlog sent in one burst, read slowly by the gateway's own rate limit, is not cut off by the message deadline"
    )
    func pacedBurstKeepsItsConnection() async throws {
        // 20 samples a second and hello-timeout = 1s: 100 samples take the gateway about 4 s to read.
        try await withGateway(
            extraConfiguration: "max-samples-per-second = 20\nhello-timeout = 1s\nagent-timeout = 10s\n"
        ) { gateway in
            let peer = try HostilePeer(port: gateway.agentPort)
            defer { peer.close() }
            try peer.send(line: HostileMessages.hello(agent: "\"e2e-burst\""))
            let welcome = try #require(peer.nextLine(timeout: 10))
            #expect(welcome.contains("welcome"), "\(welcome)")
            let now = Date().timeIntervalSince1970
            let burst = (1...100).map { HostileMessages.sample(seq: "\($0)", ts: "\(now - 100 + Double($0))") + "\n" }
            try peer.send(Array(burst.joined().utf8))
            var acknowledged = 0
            var refusal: String?
            while acknowledged < 100, refusal == nil, let line = peer.nextLine(timeout: 15) {
                if line.contains("\"error\"") { refusal = line }
                if let match = line.firstMatch(of: /"seq":(\d+)/), let seq = Int(match.1) { acknowledged = seq }
            }
            #expect(refusal == nil, "gateway: \(gateway.process.output)")
            #expect(acknowledged == 100, "acknowledged \(acknowledged) of 100; gateway: \(gateway.process.output)")
        }
    }
}
