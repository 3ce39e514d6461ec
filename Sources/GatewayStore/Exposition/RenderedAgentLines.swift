import MonitorModel
import Synchronization

/// Each agent's lines of `/metrics`, kept rendered between scrapes: a scrape re-renders only the
/// agents whose sample changed since the previous one, and copies the rest as they are.
///
/// Formatting numbers is most of what rendering costs; with ten thousand agents at one sample per
/// second and a scrape every few seconds, most agents changed, but repeated scrapes (several
/// Prometheus servers, a dashboard, the status page's polling) find most lines ready. Sample lines
/// are the same in both exposition formats, so one set serves both. Whether an agent is up or
/// fresh depends on the time of the scrape and is decided then, not kept.
public final class RenderedAgentLines: Sendable {
    /// One agent's lines as a scrape uses them: small, since a scrape of 10,000 agents copies
    /// 10,000 of them (the figures they were rendered from stay in ``Entry``).
    struct Lines: Sendable {
        /// The four report families' lines, `monitord_agent_up`'s line (with a value of 1, cut off when used),
        /// `monitord_agent_last_seen_timestamp_seconds`' line (empty before the first sample), and
        /// `monitord_samples_received_total`'s line, one after the other.
        var bytes: [UInt8]
        /// Where each part of ``bytes`` ends, in the order above (a SIMD vector: seven offsets
        /// without an array's allocation per agent).
        var ends: SIMD8<UInt32>

        func part(_ index: Int) -> ArraySlice<UInt8> {
            let start = index == 0 ? 0 : Int(ends[index - 1])
            return bytes[start..<Int(ends[index])]
        }

        func report(_ family: Int) -> ArraySlice<UInt8> { part(family) }
        /// The up line as rendered (with a value of 1), less its value: the scrape adds the value.
        var upPrefix: ArraySlice<UInt8> { part(4).dropLast(MetricsPage.upValue.count) }
        var lastSeenLine: ArraySlice<UInt8> { part(5) }
        var samplesReceivedLine: ArraySlice<UInt8> { part(6) }
    }

    /// One agent's lines, with the figures they were rendered from.
    struct Entry: Sendable {
        var latest: Sample?
        var lastSeen: Double?
        var samplesReceived: UInt64
        var lines: Lines
        /// The scrape that last saw the agent, to forget agents the store forgot.
        var seen: UInt64
    }

    private struct Contents {
        var entries: [String: Entry] = [:]
        var scrapes: UInt64 = 0
    }

    private let contents = Mutex(Contents())

    public init() {}

    /// The entries for `agents`, in their order: the kept ones where the agent's figures are the
    /// same, new ones for the rest. Agents no longer in `agents` are forgotten.
    func entries(for agents: [AgentSnapshot]) -> [Lines] {
        contents.withLock { contents in
            contents.scrapes &+= 1
            let scrape = contents.scrapes
            var result: [Lines] = []
            result.reserveCapacity(agents.count)
            for agent in agents {
                // One hash of the name per agent; a kept entry is changed in place.
                guard let index = contents.entries.index(forKey: agent.name) else {
                    let entry = Self.render(agent, scrape: scrape)
                    contents.entries[agent.name] = entry
                    result.append(entry.lines)
                    continue
                }
                let kept = contents.entries.values[index]
                if kept.latest != agent.latest || kept.lastSeen != agent.lastSeen
                    || kept.samplesReceived != agent.samplesReceived
                {
                    contents.entries.values[index] = Self.render(agent, scrape: scrape)
                } else {
                    contents.entries.values[index].seen = scrape
                }
                result.append(contents.entries.values[index].lines)
            }
            if contents.entries.count > agents.count {
                contents.entries = contents.entries.filter { $0.value.seen == scrape }
            }
            return result
        }
    }

    var count: Int { contents.withLock { $0.entries.count } }

    /// Renders one agent's lines with the writer that renders the whole page, so that the bytes are
    /// the same as ``MetricsPage/render(store:process:extra:version:format:)`` writes.
    private static func render(_ agent: AgentSnapshot, scrape: UInt64) -> Entry {
        let label = ReportFamily.agentLabel
        var writer = PrometheusTextWriter(reservingCapacity: 512)
        var ends = SIMD8<UInt32>()
        for (index, family) in ReportFamily.allCases.enumerated() {
            if let sample = agent.latest {
                if family == .cpuInterrupts {
                    writer.sample(family.name, label: label, agent.name, count: sample.cpuInterrupts)
                } else {
                    writer.sample(family.name, label: label, agent.name, value: family.value(of: sample))
                }
            }
            ends[index] = UInt32(writer.bytes.count)
        }
        // The up line is written with a value of 1, which ``Entry/upPrefix`` cuts off.
        writer.sample("monitord_agent_up", label: label, agent.name, value: 1)
        ends[4] = UInt32(writer.bytes.count)
        if let lastSeen = agent.lastSeen {
            writer.sample("monitord_agent_last_seen_timestamp_seconds", label: label, agent.name, value: lastSeen)
        }
        ends[5] = UInt32(writer.bytes.count)
        writer.sample("monitord_samples_received_total", label: label, agent.name, count: agent.samplesReceived)
        ends[6] = UInt32(writer.bytes.count)
        return Entry(
            latest: agent.latest, lastSeen: agent.lastSeen, samplesReceived: agent.samplesReceived,
            lines: Lines(bytes: writer.bytes, ends: ends), seen: scrape)
    }
}
