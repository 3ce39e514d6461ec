public import GatewayStore
public import MonitorModel
import MonitorProtocol

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
        var json = JSONWriter(reservingCapacity: 256 + agents.count * 512, escaping: .inertInHTML)
        json.object { json in
            json.member("now", number: now)
            json.member("version", string: version)
            let counts = AgentHealthCounts(agents)
            json.key("counts")
            json.object { json in
                json.member("total", integer: counts.total)
                json.member("up", integer: counts.up)
                json.member("late", integer: counts.late)
                json.member("down", integer: counts.down)
            }
            json.key("agents")
            json.array(agents) { json, agent in write(agent, to: &json) }
        }
        return json.text + "\n"
    }

    private static func write(_ agent: AgentSnapshot, to json: inout JSONWriter) {
        json.object { json in
            json.member("name", string: agent.name)
            json.member("state", string: AgentHealth(agent).rawValue)
            json.member("dialect", string: agent.dialect.rawValue)
            json.member("transport", string: AgentTransport.name(agent))
            json.member("remoteAddress", string: agent.remoteAddress)
            json.member("connected", boolean: agent.connected)
            json.member("connectedSince", number: agent.connectedSince)
            json.member("lastSeen", number: agent.lastSeen)
            json.member("samplesReceived", integer: agent.samplesReceived)
            json.member("up", boolean: agent.up)
            json.member("fresh", boolean: agent.fresh)
            json.key("latest")
            if let sample = agent.latest {
                json.object { json in
                    json.member("sequence", integer: sample.sequence)
                    json.member("timestamp", number: sample.timestamp)
                    json.member("ramUsagePercent", number: sample.ramUsagePercent)
                    json.member("cpuUsagePercent", number: sample.cpuUsagePercent)
                    json.member("processRAMGigabytes", number: sample.processRAMGigabytes)
                    json.member("cpuInterrupts", integer: sample.cpuInterrupts)
                }
            } else {
                json.null()
            }
        }
    }
}
