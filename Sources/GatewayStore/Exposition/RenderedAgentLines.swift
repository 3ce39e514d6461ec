import MonitorModel
import Synchronization

/// Each agent's lines of `/metrics`, kept rendered between scrapes: a scrape re-renders only the
/// agents whose record changed since their lines were rendered, and copies the rest as they are.
///
/// Formatting numbers is most of what rendering costs; with ten thousand agents at one sample per
/// second and a scrape every few seconds, most agents changed, but repeated scrapes (several
/// Prometheus servers, a dashboard, the status page's polling) find most lines ready. Sample lines
/// are the same in both exposition formats, so one set serves both. Whether an agent is up or
/// fresh depends on the time of the scrape and is decided then, not kept.
///
/// The lines are kept by the agent's slot in the store and the version of its record they were
/// rendered from (``NameOrderedRecords``): whether they are current is one comparison, with no
/// name hashed and no figure compared. All agents' lines are in one buffer, so that a scrape copies
/// them to the page with no retain or release per agent; newer lines are appended to it, and it is
/// written afresh when older ones take more than a third of it, or when many agents changed.
public final class RenderedAgentLines: Sendable {
    /// Where one slot's lines are in ``Contents/storage``: the four report families' lines,
    /// `monitord_agent_up`'s line (with a value of 1, which the page replaces when the agent is down),
    /// `monitord_agent_last_seen_timestamp_seconds`' line (empty before the first sample), and
    /// `monitord_samples_received_total`'s line, one after the other.
    struct Kept {
        /// The record's version the lines were rendered from; 0 (no record's) when nothing is kept.
        var version: UInt64 = 0
        var start = 0
        /// Where each part ends, counted from ``start`` (a SIMD vector: seven offsets without an
        /// array's allocation per agent).
        var ends = SIMD8<UInt32>()
        /// The scrape that last found the agent in the store, to forget agents the store forgot.
        var seen: UInt64 = 0

        var length: Int { Int(ends[6]) }
    }

    struct Contents {
        /// By slot.
        var kept: [Kept] = []
        var storage: [UInt8] = []
        /// The bytes of ``storage`` that current lines take; the rest is lines rendered before them.
        var live = 0
        var scrapes: UInt64 = 0
    }

    private let contents = Mutex(Contents())

    public init() {}

    /// Takes the store's agents at `now`, renders the lines of those that changed, and hands
    /// `write` every agent in name order with its lines (valid during the call only). Scrapes take
    /// turns here; the store's lock is held only for ``AgentStore/scrape(now:isKept:)``.
    func scrape<Result: Sendable>(_ store: AgentStore, now: Double, _ write: (ScrapedAgents) -> Result) -> Result {
        contents.withLock { contents in
            let scrape = store.scrape(now: now) { slot, version in
                slot < contents.kept.count && contents.kept[slot].version == version
            }
            contents.update(scrape)
            return contents.storage.withUnsafeBytes { storage in
                contents.kept.withUnsafeBufferPointer { kept in
                    scrape.agents.withUnsafeBufferPointer { agents in
                        write(ScrapedAgents(agents: agents, kept: kept, storage: storage))
                    }
                }
            }
        }
    }

    /// The number of agents whose lines are kept.
    var count: Int { contents.withLock { $0.kept.count(where: { $0.version != 0 }) } }

    /// The bytes the kept lines and the older lines not yet compacted away take.
    var storageBytes: Int { contents.withLock { $0.storage.count } }

    /// The agents of one scrape, in name order, with their lines.
    struct ScrapedAgents {
        let agents: UnsafeBufferPointer<AgentScrape.Agent>
        let kept: UnsafeBufferPointer<Kept>
        let storage: UnsafeRawBufferPointer

        /// Part `index` of the agent's lines (see ``Kept``).
        func part(_ index: Int, of agent: AgentScrape.Agent) -> UnsafeRawBufferPointer {
            let lines = kept[agent.slot]
            let start = lines.start + (index == 0 ? 0 : Int(lines.ends[index - 1]))
            let end = lines.start + Int(lines.ends[index])
            return UnsafeRawBufferPointer(rebasing: storage[start..<end])
        }
    }
}

extension RenderedAgentLines.Contents {
    /// Forgets the lines of agents the store no longer holds, and renders those of the changed ones.
    ///
    /// A few changed agents (repeated scrapes in quick succession) have their lines appended, and
    /// the storage is written afresh once older lines take more than a third of it. Many (a
    /// scrape every 15 s while every agent sends a sample a second) are rendered straight into a
    /// storage written afresh in the page's order, with the others' lines copied over, so that
    /// the storage holds the current lines and little more.
    mutating func update(_ scrape: AgentScrape) {
        scrapes &+= 1
        var largest = -1
        for agent in scrape.agents { largest = max(largest, agent.slot) }
        if largest >= kept.count {
            kept.append(contentsOf: repeatElement(RenderedAgentLines.Kept(), count: largest + 1 - kept.count))
        }
        for agent in scrape.agents { kept[agent.slot].seen = scrapes }
        for slot in kept.indices where kept[slot].version != 0 && kept[slot].seen != scrapes {
            live -= kept[slot].length
            kept[slot].version = 0
        }
        if scrape.changed.count * 4 >= scrape.agents.count {
            rewrite(scrape)
            return
        }
        guard !scrape.changed.isEmpty else { return }
        var writer = PrometheusTextWriter(reservingCapacity: scrape.changed.count * 512)
        let base = storage.count
        for agent in scrape.changed {
            if kept[agent.slot].version != 0 { live -= kept[agent.slot].length }
            kept[agent.slot].start = base + writer.bytes.count
            kept[agent.slot].ends = Self.render(agent, to: &writer)
            kept[agent.slot].version = agent.version
            live += kept[agent.slot].length
        }
        storage.append(contentsOf: writer.bytes)
        if storage.count > live + live / 2 + 65_536 { rewrite(AgentScrape(agents: scrape.agents, changed: [])) }
    }

    /// Writes a new storage in the page's order: the changed agents' lines rendered, the others' copied.
    private mutating func rewrite(_ scrape: AgentScrape) {
        var capacity = 0
        for agent in scrape.agents {
            capacity += kept[agent.slot].version == agent.version ? kept[agent.slot].length : 512
        }
        var writer = PrometheusTextWriter(reservingCapacity: capacity)
        var changed = scrape.changed.makeIterator()
        var next = changed.next()
        for agent in scrape.agents {
            let start = writer.bytes.count
            if let current = next, current.slot == agent.slot {
                // The changed agents come in the same order as all of them (``AgentStore/scrape(now:isKept:)``).
                kept[agent.slot].ends = Self.render(current, to: &writer)
                kept[agent.slot].version = current.version
                next = changed.next()
            } else {
                let lines = kept[agent.slot]
                writer.append(rendered: storage[lines.start..<(lines.start + lines.length)])
            }
            kept[agent.slot].start = start
        }
        storage = writer.bytes
        live = storage.count
    }

    /// Renders one agent's lines with the writer that renders the whole page, so that the bytes are
    /// the same as ``MetricsPage/render(store:process:extra:version:format:)`` writes. Returns where
    /// each part ends, counted from where the agent's lines start.
    private static func render(_ agent: AgentScrape.Changed, to writer: inout PrometheusTextWriter) -> SIMD8<UInt32> {
        let start = writer.bytes.count
        let label = ReportFamily.agentLabel
        var ends = SIMD8<UInt32>()
        for (index, family) in ReportFamily.allCases.enumerated() {
            if let sample = agent.latest {
                if family == .cpuInterrupts {
                    writer.sample(family.name, label: label, agent.name, count: sample.cpuInterrupts)
                } else {
                    writer.sample(family.name, label: label, agent.name, value: family.value(of: sample))
                }
            }
            ends[index] = UInt32(writer.bytes.count - start)
        }
        // The up line is written with a value of 1, which the page replaces for an agent that is down.
        writer.sample("monitord_agent_up", label: label, agent.name, value: 1)
        ends[4] = UInt32(writer.bytes.count - start)
        if let lastSeen = agent.lastSeen {
            writer.sample("monitord_agent_last_seen_timestamp_seconds", label: label, agent.name, value: lastSeen)
        }
        ends[5] = UInt32(writer.bytes.count - start)
        writer.sample("monitord_samples_received_total", label: label, agent.name, count: agent.samplesReceived)
        ends[6] = UInt32(writer.bytes.count - start)
        return ends
    }
}
