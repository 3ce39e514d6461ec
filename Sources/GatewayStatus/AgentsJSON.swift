public import GatewayStore
public import MonitorModel

/// The body of `GET /api/v1/agents`: the status page's data, for its own refresh and for scripts.
///
/// Shape (keys in camelCase, like Prometheus's own `/api/v1`):
/// `{"now", "version", "counts": {"total", "up", "late", "down"}, "agents": [{"name", "state", "dialect",
/// "transport", "remoteAddress", "connected", "connectedSince", "lastSeen", "samplesReceived", "up", "fresh",
/// "latest": {"sequence", "timestamp", "ramUsagePercent", "cpuUsagePercent", "processRAMGigabytes",
/// "cpuInterrupts"}}]}`. Times are Unix seconds; unknown times and a missing sample are `null`; `now` is the
/// gateway's clock, so a client computes ages without trusting its own. Agents are sorted by name.
public enum AgentsJSON {
    public static func render(_ agents: [AgentSnapshot], now: Double, version: String = MonitorVersion.current)
        -> String
    {
        var json = JSONWriter(reservingCapacity: 256 + agents.count * 512)
        json.object { json in
            json.field("now", now)
            json.field("version", version)
            let counts = AgentHealthCounts(agents)
            json.key("counts")
            json.object { json in
                json.field("total", UInt64(counts.total))
                json.field("up", UInt64(counts.up))
                json.field("late", UInt64(counts.late))
                json.field("down", UInt64(counts.down))
            }
            json.key("agents")
            json.array(agents) { json, agent in write(agent, to: &json) }
        }
        return json.text + "\n"
    }

    private static func write(_ agent: AgentSnapshot, to json: inout JSONWriter) {
        json.object { json in
            json.field("name", agent.name)
            json.field("state", AgentHealth(agent).rawValue)
            json.field("dialect", agent.dialect.rawValue)
            json.field("transport", AgentTransport.name(agent))
            json.field("remoteAddress", agent.remoteAddress)
            json.field("connected", agent.connected)
            json.field("connectedSince", agent.connectedSince)
            json.field("lastSeen", agent.lastSeen)
            json.field("samplesReceived", agent.samplesReceived)
            json.field("up", agent.up)
            json.field("fresh", agent.fresh)
            json.key("latest")
            if let sample = agent.latest {
                json.object { json in
                    json.field("sequence", sample.sequence)
                    json.field("timestamp", sample.timestamp)
                    json.field("ramUsagePercent", sample.ramUsagePercent)
                    json.field("cpuUsagePercent", sample.cpuUsagePercent)
                    json.field("processRAMGigabytes", sample.processRAMGigabytes)
                    json.field("cpuInterrupts", sample.cpuInterrupts)
                }
            } else {
                json.null()
            }
        }
    }
}

/// Just enough of a JSON writer for ``AgentsJSON``: objects, arrays, strings (escaped), numbers, booleans, null.
struct JSONWriter {
    private(set) var text = ""
    /// Whether the container being written already has a member, i.e. whether the next one needs a comma.
    private var hasMember: [Bool] = []
    /// Whether a key was just written, so the next value completes its member and takes no comma.
    private var afterKey = false

    init(reservingCapacity capacity: Int) {
        text.reserveCapacity(capacity)
    }

    mutating func object(_ body: (inout JSONWriter) -> Void) {
        separate()
        text += "{"
        hasMember.append(false)
        body(&self)
        hasMember.removeLast()
        text += "}"
    }

    mutating func array<Element>(_ elements: [Element], _ body: (inout JSONWriter, Element) -> Void) {
        separate()
        text += "["
        hasMember.append(false)
        for element in elements { body(&self, element) }
        hasMember.removeLast()
        text += "]"
    }

    /// An object key; the value written next completes the member.
    mutating func key(_ name: String) {
        separate()
        text += Escaping.jsonString(name) + ":"
        afterKey = true
    }

    mutating func null() { value("null") }

    mutating func field(_ name: String, _ value: String) {
        key(name)
        self.value(Escaping.jsonString(value))
    }

    mutating func field(_ name: String, _ value: Bool) {
        key(name)
        self.value(value ? "true" : "false")
    }

    mutating func field(_ name: String, _ value: UInt64) {
        key(name)
        self.value(String(value))
    }

    /// Non-finite numbers have no JSON form: they are written as `null`, like a missing value.
    mutating func field(_ name: String, _ value: Double?) {
        key(name)
        guard let value, value.isFinite else { return null() }
        var bytes: [UInt8] = []
        PrometheusNumber.append(value, to: &bytes)
        self.value(String(decoding: bytes, as: UTF8.self))
    }

    private mutating func value(_ literal: String) {
        separate()
        text += literal
    }

    /// Writes the comma before a member or element when one precedes it, and ends a key's pending value.
    private mutating func separate() {
        if afterKey {
            afterKey = false
            return
        }
        if let last = hasMember.last {
            if last { text += "," }
            hasMember[hasMember.count - 1] = true
        }
    }
}
