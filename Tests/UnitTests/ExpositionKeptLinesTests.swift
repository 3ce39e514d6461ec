import Testing

@testable import GatewayStore
@testable import MonitorModel

/// `/metrics` assembled from the store's name order and the lines kept between scrapes
/// (``RenderedAgentLines``) must be the page rendered afresh from a snapshot sorted by name, byte
/// for byte, whatever changed in between: samples, freshness, up, agents arriving, reconnecting and
/// forgotten, names that need escaping, both formats.
@Suite struct ExpositionKeptLinesTests {
    /// A deterministic generator, so that a failure repeats.
    struct Numbers {
        var state: UInt64
        mutating func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 11
        }
        mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
        mutating func double() -> Double {
            switch below(6) {
            case 0: return Double(below(100))
            case 1: return .nan
            case 2: return Double(next()) / 3
            case 3: return -0.0
            default: return Double(below(1_000_000)) / 997
            }
        }
    }

    static let names = [
        "web-01", #"we"ird\name"# + "\nline", "db-ü", "agent_17", "z", "a-b-c", "__proto__", "Web-01", "web-010", "",
        "e\u{301}", "web-00",
    ]

    static let extra = [MetricFamily(name: "monitord_x_total", help: "x", type: .counter, samples: [MetricSample(1)])]

    /// The page as the store's snapshot renders it afresh, sorted here by name, independently of the
    /// order the store keeps.
    static func freshPage(_ store: AgentStore, now: Double, format: ExpositionFormat) -> [UInt8] {
        let sorted = store.snapshot(now: now).sorted { $0.name < $1.name }
        return MetricsPage.render(store: sorted, process: nil, extra: extra, version: "1.2", format: format)
    }

    static func keptPage(
        _ store: AgentStore, now: Double, format: ExpositionFormat, _ lines: RenderedAgentLines
    ) -> [UInt8] {
        MetricsPage.render(
            from: store, now: now, keptIn: lines, process: nil, extra: extra, version: "1.2", format: format)
    }

    func sample(_ numbers: inout Numbers, sequence: UInt64) -> Sample {
        Sample(
            sequence: sequence, timestamp: numbers.below(5) == 0 ? nil : numbers.double(),
            ramUsagePercent: numbers.double(), cpuUsagePercent: numbers.double(),
            processRAMGigabytes: numbers.double(), cpuInterrupts: numbers.next() << UInt64(numbers.below(12)))
    }

    @Test("over 3,000 scrapes of a store whose agents come, change, reconnect and go, the kept page is the sorted page")
    func keptPageIsTheFreshPage() {
        var numbers = Numbers(state: 14)
        let store = AgentStore(
            agentTimeout: .seconds(30), forgetAfter: .seconds(120), forgetAnonymousAfter: .seconds(40))
        let lines = RenderedAgentLines()
        var now = 1_000.0
        var connections: [String: ConnectionID] = [:]
        var sequences: [String: UInt64] = [:]
        for scrape in 0..<3_000 {
            // Some scrapes find nothing changed; the others a few changes of every kind.
            for _ in 0..<(numbers.below(3) == 0 ? 0 : numbers.below(6)) {
                let name = Self.names[numbers.below(Self.names.count)]
                switch numbers.below(7) {
                case 0, 1:
                    let session = numbers.below(4) == 0 ? "s\(numbers.below(3))" : "s"
                    connections[name] =
                        store.connected(
                            agent: name, session: session, dialect: .native, remoteAddress: "192.0.2.1:1", now: now
                        ).id
                case 2, 3, 4:
                    sequences[name, default: 0] += UInt64(numbers.below(2) + 1)
                    _ = store.record(
                        sample(&numbers, sequence: sequences[name]!), agent: name, session: "s", now: now)
                case 5:
                    if let connection = connections.removeValue(forKey: name) {
                        store.disconnected(agent: name, connection: connection, now: now)
                    }
                default:
                    _ = store.expire(now: now)
                    if numbers.below(4) == 0 { _ = store.forgetLeastRecentlyActive(keeping: numbers.below(8)) }
                }
            }
            now += Double(numbers.below(20))
            let format: ExpositionFormat = numbers.below(2) == 0 ? .text : .openMetrics
            let fresh = Self.freshPage(store, now: now, format: format)
            let kept = Self.keptPage(store, now: now, format: format, lines)
            #expect(
                String(decoding: kept, as: UTF8.self) == String(decoding: fresh, as: UTF8.self) && kept == fresh,
                "scrape \(scrape)")
            #expect(lines.count == store.agentCount, "forgotten agents must leave the kept lines")
            if kept != fresh { return }
        }
    }

    @Test("agents arriving in any order and leaving are listed in name order, as a sort would list them")
    func storeKeepsNameOrder() {
        var numbers = Numbers(state: 7)
        let store = AgentStore(agentTimeout: .seconds(30), forgetAfter: .seconds(10))
        var names = (0..<300).map { "host-\($0 * 7919 % 300)" } + Self.names
        for index in names.indices.reversed() { names.swapAt(index, numbers.below(index + 1)) }
        var connections: [String: ConnectionID] = [:]
        for name in names {
            connections[name] =
                store.connected(agent: name, session: "s", dialect: .native, remoteAddress: "x", now: 1).id
            _ = store.record(sample(&numbers, sequence: 1), agent: name, session: "s", now: 1)
        }
        #expect(store.snapshot(now: 1).map(\.name) == names.sorted())
        // Every third agent leaves and is forgotten; a few come back under the same name, and new ones join.
        let leaving = names.enumerated().filter { $0.offset % 3 == 0 }.map(\.element)
        for name in leaving { store.disconnected(agent: name, connection: connections[name]!, now: 2) }
        #expect(Set(store.expire(now: 100)) == Set(leaving))
        let returning = leaving.prefix(20) + ["new-1", "a", "zz", "host-1500"]
        for name in returning {
            _ = store.connected(agent: name, session: "t", dialect: .native, remoteAddress: "x", now: 100)
        }
        let expected = Set(names).subtracting(leaving).union(returning).sorted()
        #expect(store.snapshot(now: 100).map(\.name) == expected)
        let lines = RenderedAgentLines()
        #expect(Self.keptPage(store, now: 100, format: .text, lines) == Self.freshPage(store, now: 100, format: .text))
    }

    @Test("names that String's < cannot order are held, listed and forgotten like any other")
    func unorderableNames() {
        // Neither is below the other, and they are not equal (Swift 6.3): no sort defines their
        // order, but the store must still find, list and forget both.
        let pair = ["e\u{301}", "\u{e9}x"]
        #expect(!(pair[0] < pair[1]) && !(pair[1] < pair[0]) && pair[0] != pair[1])
        let store = AgentStore(agentTimeout: .seconds(30), forgetAfter: .seconds(10))
        var connections: [String: ConnectionID] = [:]
        var numbers = Numbers(state: 1)
        for name in ["a"] + pair + ["z"] {
            connections[name] =
                store.connected(agent: name, session: "s", dialect: .native, remoteAddress: "x", now: 1).id
            #expect(store.record(sample(&numbers, sequence: 1), agent: name, session: "s", now: 1))
        }
        let lines = RenderedAgentLines()
        let listed = store.snapshot(now: 1).map(\.name)
        #expect(Set(listed) == Set(["a", "z"] + pair) && listed.first == "a")
        #expect(
            Self.keptPage(store, now: 1, format: .text, lines)
                == MetricsPage.render(store: store.snapshot(now: 1), process: nil, extra: Self.extra, version: "1.2"))
        for name in pair.reversed() { store.disconnected(agent: name, connection: connections[name]!, now: 2) }
        #expect(Set(store.expire(now: 100)) == Set(pair))
        #expect(store.snapshot(now: 100).map(\.name) == ["a", "z"])
        #expect(Self.keptPage(store, now: 100, format: .text, lines) == Self.freshPage(store, now: 100, format: .text))
    }

    @Test("an unchanged agent's lines are reused, a changed one's rendered again, with its new figures")
    func onlyChangedAgentsAreRendered() {
        let store = AgentStore(agentTimeout: .seconds(30), forgetAfter: .seconds(300))
        var numbers = Numbers(state: 3)
        // Ten agents, one of which changes: few enough that its new lines are appended to the kept ones.
        for name in ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"] {
            _ = store.connected(agent: name, session: "s", dialect: .native, remoteAddress: "x", now: 10)
            _ = store.record(sample(&numbers, sequence: 1), agent: name, session: "s", now: 10)
        }
        let lines = RenderedAgentLines()
        let first = Self.keptPage(store, now: 10, format: .text, lines)
        let kept = lines.storageBytes
        // Nothing changed: nothing rendered, nothing added to the kept lines, the same page.
        #expect(
            Self.keptPage(store, now: 10, format: .openMetrics, lines)
                == Self.freshPage(store, now: 10, format: .openMetrics))
        #expect(Self.keptPage(store, now: 11, format: .text, lines) == first)
        #expect(lines.storageBytes == kept)
        // One sample for b: b's lines alone are rendered again, and they carry its new figures.
        let next = Sample(
            sequence: 2, timestamp: 11, ramUsagePercent: 12.5, cpuUsagePercent: 2, processRAMGigabytes: 3,
            cpuInterrupts: 987_654_321)
        #expect(store.record(next, agent: "b", session: "s", now: 11))
        let second = Self.keptPage(store, now: 11, format: .text, lines)
        #expect(second == Self.freshPage(store, now: 11, format: .text))
        let text = String(decoding: second, as: UTF8.self)
        #expect(text.contains(#"{agent_number="b"} 12.5"#))
        #expect(text.contains(#"{agent_number="b"} 987654321"#))
        #expect(text.contains(#"monitord_samples_received_total{agent_number="b"} 2"#))
        #expect(lines.storageBytes > kept && lines.storageBytes < kept + kept / 5)
    }

    @Test("the kept lines stay within a few times the page, however often every agent changes")
    func keptLinesAreCompacted() {
        let store = AgentStore(agentTimeout: .seconds(30), forgetAfter: .seconds(300))
        var numbers = Numbers(state: 5)
        let lines = RenderedAgentLines()
        for name in (0..<500).map({ "host-\($0)" }) {
            _ = store.connected(agent: name, session: "s", dialect: .native, remoteAddress: "x", now: 10)
        }
        var largest = 0
        for sequence in 1...40 {
            for name in (0..<500).map({ "host-\($0)" }) {
                _ = store.record(sample(&numbers, sequence: UInt64(sequence)), agent: name, session: "s", now: 10)
            }
            let page = Self.keptPage(store, now: 10, format: .text, lines)
            largest = max(largest, lines.storageBytes)
            #expect(largest < 3 * page.count + 65_536, "scrape \(sequence)")
        }
    }

    @Test("scrapes during ingest and agents coming and going each see a whole page, and the last the sorted one")
    func scrapesDuringIngest() async {
        let store = AgentStore(agentTimeout: .seconds(30), forgetAfter: .seconds(1))
        let lines = RenderedAgentLines()
        let agents = 200
        await withTaskGroup(of: Void.self) { group in
            for writer in 0..<4 {
                group.addTask {
                    var numbers = Numbers(state: UInt64(writer))
                    for round in 1...60 {
                        for index in stride(from: writer, to: agents, by: 4) {
                            let name = "host-\(index)"
                            let connection = store.connected(
                                agent: name, session: "s", dialect: .native, remoteAddress: "x", now: 10)
                            _ = store.record(
                                sample(&numbers, sequence: UInt64(round)), agent: name, session: "s", now: 10)
                            // Every fifth round a quarter of them leave for a moment and are forgotten.
                            if round % 5 == 0, index % 4 == writer {
                                store.disconnected(agent: name, connection: connection.id, now: 10)
                                _ = store.expire(now: 20)
                            }
                        }
                    }
                }
            }
            group.addTask {
                for scrape in 0..<150 {
                    let format: ExpositionFormat = scrape % 2 == 0 ? .text : .openMetrics
                    let page = String(decoding: Self.keptPage(store, now: 10, format: format, lines), as: UTF8.self)
                    let up = page.split(separator: "\n").filter { $0.hasPrefix("monitord_agent_up{") }.map {
                        String($0.split(separator: "\"")[1])
                    }
                    let received = page.split(separator: "\n").filter {
                        $0.hasPrefix("monitord_samples_received_total{")
                    }
                    // Whole and consistent: each agent once per family, in name order, and the count says how many.
                    #expect(up == up.sorted() && Set(up).count == up.count)
                    #expect(received.count == up.count)
                    #expect(page.contains("monitord_agents \(up.count)\n"))
                    #expect(format == .text || page.hasSuffix("# EOF\n"))
                }
            }
        }
        for format in [ExpositionFormat.text, .openMetrics] {
            #expect(
                Self.keptPage(store, now: 10, format: format, lines) == Self.freshPage(store, now: 10, format: format))
        }
        #expect(lines.count == store.agentCount)
    }
}
