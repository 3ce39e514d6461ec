public import MonitorModel

/// The `/metrics` body of `monitord`: the report's four families, the gateway's view of its agents, and its own
/// process figures.
///
/// Every family's `# HELP`/`# TYPE` is written even when it has no samples (no agent is fresh, say): `promtool check
/// metrics` accepts that, and a scraper then always sees the same set of families.
public enum MetricsPage {
    private static let agentLabel = ReportFamily.agentLabel

    /// Renders the page from a snapshot, so no lock is held while writing.
    ///
    /// - Parameters:
    ///   - agents: the store's snapshot; only fresh agents export the four report families, every agent exports the
    ///     self-metrics until it is forgotten.
    ///   - process: the gateway's own `process_*` figures; omitted when `nil`.
    ///   - extra: further families the caller owns (its connection counters, say), written after the agent families.
    ///     Their names must not repeat any family of this page.
    ///   - version: written as `monitord_build_info{version=...} 1`.
    ///   - format: the 0.0.4 text format or OpenMetrics, as the scraper negotiated.
    public static func render(
        store agents: [AgentSnapshot],
        process: ProcessMetrics?,
        extra: [MetricFamily] = [],
        version: String = MonitorVersion.current,
        format: ExpositionFormat = .text
    ) -> [UInt8] {
        // About 600 bytes per agent; reserving up front avoids repeated copies of a large buffer.
        var writer = PrometheusTextWriter(reservingCapacity: 4096 + agents.count * 640, format: format)
        writeReportFamilies(of: agents, to: &writer)
        writeAgentFamilies(of: agents, to: &writer)
        writeGatewayFamilies(agents: agents.count, version: version, extra: extra, process: process, to: &writer)
        return writer.bytes
    }

    /// What `/metrics` serves: the page ``render(store:process:extra:version:format:)`` writes for
    /// the store's snapshot at `now`, byte for byte, assembled from each agent's lines as `lines`
    /// keeps them (rendered again only for agents that changed since) straight into the body that
    /// `body` makes of the page's size: no sort, no copy of the records, no page copied once more.
    ///
    /// - Parameter body: given the page's size and a function that fills a buffer of that size with
    ///   it; what it returns is returned. It runs while `lines` is held: concurrent scrapes wait.
    public static func render<Body: Sendable>(
        from store: AgentStore,
        now: Double,
        keptIn lines: RenderedAgentLines,
        process: ProcessMetrics?,
        extra: [MetricFamily] = [],
        version: String = MonitorVersion.current,
        format: ExpositionFormat = .text,
        into body: (_ size: Int, _ fill: (UnsafeMutableRawBufferPointer) -> Void) -> Body
    ) -> Body {
        lines.scrape(store, now: now) { scraped in
            var tail = PrometheusTextWriter(format: format)
            writeGatewayFamilies(
                agents: scraped.agents.count, version: version, extra: extra, process: process, to: &tail)
            // The seven families' headers, in the page's order: the report's four, then the gateway's three.
            var headers: [[UInt8]] = ReportFamily.allCases.map { family in
                var writer = PrometheusTextWriter(reservingCapacity: 256, format: format)
                writer.family(family.name, help: family.help, type: family.type)
                return writer.bytes
            }
            for family in [AgentFamily.up, .lastSeen, .samplesReceived] {
                var writer = PrometheusTextWriter(reservingCapacity: 256, format: format)
                writeAgentFamilyHeader(family, to: &writer)
                headers.append(writer.bytes)
            }
            var size = tail.bytes.count
            for header in headers { size += header.count }
            for agent in scraped.agents {
                // Parts 0 to 3 (the report's families) only for an agent that exports them.
                let lines = scraped.kept[agent.slot]
                size += lines.length - (agent.exportsReport ? 0 : Int(lines.ends[3]))
            }
            return body(size) { buffer in
                var written = 0
                func copy(_ bytes: UnsafeRawBufferPointer) {
                    guard let source = bytes.baseAddress, !bytes.isEmpty else { return }
                    precondition(written + bytes.count <= buffer.count, "the page is the size it was counted")
                    (buffer.baseAddress! + written).copyMemory(from: source, byteCount: bytes.count)
                    written += bytes.count
                }
                for part in 0..<ReportFamily.allCases.count {
                    headers[part].withUnsafeBytes(copy)
                    for agent in scraped.agents where agent.exportsReport { copy(scraped.part(part, of: agent)) }
                }
                headers[4].withUnsafeBytes(copy)
                for agent in scraped.agents {
                    let line = scraped.part(4, of: agent)
                    if agent.up {
                        copy(line)
                    } else {
                        copy(UnsafeRawBufferPointer(rebasing: line.dropLast(upValue.count)))
                        downValue.withUnsafeBytes(copy)
                    }
                }
                for part in 5...6 {
                    headers[part].withUnsafeBytes(copy)
                    for agent in scraped.agents { copy(scraped.part(part, of: agent)) }
                }
                tail.bytes.withUnsafeBytes(copy)
                precondition(written == size, "the page is the size it was counted")
            }
        }
    }

    /// ``render(from:now:keptIn:process:extra:version:format:into:)`` as an array of bytes.
    public static func render(
        from store: AgentStore,
        now: Double,
        keptIn lines: RenderedAgentLines,
        process: ProcessMetrics?,
        extra: [MetricFamily] = [],
        version: String = MonitorVersion.current,
        format: ExpositionFormat = .text
    ) -> [UInt8] {
        render(
            from: store, now: now, keptIn: lines, process: process, extra: extra, version: version, format: format
        ) { size, fill in
            [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
                fill(UnsafeMutableRawBufferPointer(buffer))
                count = size
            }
        }
    }

    /// `monitord_agent_up`'s values, each with the line's end, as the page's writer formats them.
    static let upValue = line(ending: 1)
    static let downValue = line(ending: 0)

    private static func line(ending value: Double) -> [UInt8] {
        var bytes: [UInt8] = []
        PrometheusNumber.append(value, to: &bytes)
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }

    /// What follows the agents: the gateway's own families.
    private static func writeGatewayFamilies(
        agents: Int, version: String, extra: [MetricFamily], process: ProcessMetrics?,
        to writer: inout PrometheusTextWriter
    ) {
        writer.family(
            "monitord_agents", help: "Number of agents the gateway knows: connected, or not yet forgotten.",
            type: .gauge)
        writer.sample("monitord_agents", labels: [], value: Double(agents))
        writer.family(
            "monitord_build_info", help: "Always 1; the version label says which monitord is running.", type: .gauge)
        writer.sample("monitord_build_info", labels: [MetricLabel(name: "version", value: version)], value: 1)
        for family in extra {
            writer.family(family)
        }
        if let process {
            writeProcessFamilies(process, to: &writer)
        }
        writer.finish()
    }

    /// The four families of the report (``ReportFamily``), for fresh agents only.
    private static func writeReportFamilies(of agents: [AgentSnapshot], to writer: inout PrometheusTextWriter) {
        let fresh = agents.compactMap { agent in agent.fresh ? agent.latest.map { (agent.name, $0) } : nil }
        for family in ReportFamily.allCases {
            writer.family(family.name, help: family.help, type: family.type)
            for (name, sample) in fresh {
                if family == .cpuInterrupts {
                    // Written as an integer: a Double would round counts above 2^53.
                    writer.sample(family.name, label: agentLabel, name, count: sample.cpuInterrupts)
                } else {
                    writer.sample(family.name, label: agentLabel, name, value: family.value(of: sample))
                }
            }
        }
    }

    /// The gateway's judgement of each agent (SPEC §2 self-metrics), for every agent not yet forgotten.
    private static func writeAgentFamilies(of agents: [AgentSnapshot], to writer: inout PrometheusTextWriter) {
        writeAgentFamilyHeader(.up, to: &writer)
        for agent in agents {
            writer.sample("monitord_agent_up", label: agentLabel, agent.name, value: agent.up ? 1 : 0)
        }
        writeAgentFamilyHeader(.lastSeen, to: &writer)
        for agent in agents {
            guard let lastSeen = agent.lastSeen else { continue }
            writer.sample("monitord_agent_last_seen_timestamp_seconds", label: agentLabel, agent.name, value: lastSeen)
        }
        writeAgentFamilyHeader(.samplesReceived, to: &writer)
        for agent in agents {
            writer.sample(
                "monitord_samples_received_total", label: agentLabel, agent.name, count: agent.samplesReceived)
        }
    }

    private enum AgentFamily {
        case up, lastSeen, samplesReceived
    }

    private static func writeAgentFamilyHeader(_ family: AgentFamily, to writer: inout PrometheusTextWriter) {
        switch family {
        case .up:
            writer.family(
                "monitord_agent_up",
                help:
                    "1 while the agent is connected and its samples arrive on time, 0 once it is late or disconnected.",
                type: .gauge)
        case .lastSeen:
            writer.family(
                "monitord_agent_last_seen_timestamp_seconds",
                help: "Unix time of the agent's most recent sample (its own clock, never later than arrival).",
                type: .gauge)
        case .samplesReceived:
            writer.family(
                "monitord_samples_received_total",
                help: "Samples accepted from the agent, replayed ones included, duplicates not.",
                type: .counter)
        }
    }

    /// The standard families of the Prometheus client libraries, with their standard help texts.
    private static func writeProcessFamilies(_ process: ProcessMetrics, to writer: inout PrometheusTextWriter) {
        let families: [(String, String, MetricType, Double)] = [
            (
                "process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", .counter,
                process.cpuSecondsTotal
            ),
            ("process_resident_memory_bytes", "Resident memory size in bytes.", .gauge, Double(process.residentBytes)),
            ("process_virtual_memory_bytes", "Virtual memory size in bytes.", .gauge, Double(process.virtualBytes)),
            (
                "process_start_time_seconds", "Start time of the process since unix epoch in seconds.", .gauge,
                process.startTimeSeconds
            ),
            ("process_open_fds", "Number of open file descriptors.", .gauge, Double(process.openFDs)),
            ("process_max_fds", "Maximum number of open file descriptors.", .gauge, Double(process.maxFDs)),
        ]
        for (name, help, type, value) in families {
            writer.family(name, help: help, type: type)
            writer.sample(name, labels: [], value: value)
        }
    }
}
