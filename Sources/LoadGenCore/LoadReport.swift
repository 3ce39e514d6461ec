import MonitorProtocol

/// The outcome of a run: a human-readable summary and one JSON line for scripts.
public struct LoadReport: Sendable {
    public var plan: LoadPlan
    /// Connections that became active.
    public var connected: Int
    public var connectFailures: Int
    /// Connections still open when the run ended (before it closed them).
    public var openAtEnd: Int
    /// Connections the gateway closed while the run still wanted them.
    public var unexpectedCloses: Int
    public var samplesSent: Int
    /// Native dialect only: samples covered by the gateway's cumulative acks.
    public var samplesAcknowledged: Int
    /// Connect failures, gateway refusals and connection errors.
    public var errors: Int
    public var errorReasons: [String: Int]
    /// Seconds from the first connect to the last connection established.
    public var rampUpSeconds: Double
    /// Length of the measurement window.
    public var windowSeconds: Double
    public var sentInWindow: Int
    public var acknowledgedInWindow: Int
    /// Send→ack latency of samples acknowledged within the window.
    public var latency: LatencySummary

    /// Samples per second the gateway confirmed (native) or accepted from the socket (report's format).
    public var throughput: Double {
        let count = plan.dialect == .native ? acknowledgedInWindow : sentInWindow
        return windowSeconds > 0 ? Double(count) / windowSeconds : 0
    }

    /// Whether every agent connected and stayed connected with no error.
    public var isClean: Bool {
        errors == 0 && unexpectedCloses == 0 && connected == plan.agents
    }

    public var summary: String {
        let pace: String
        switch plan.pace {
        case .interval(let interval): pace = "one sample every \(interval.inSeconds) s per agent"
        case .flood(let window): pace = "as fast as possible (window \(window))"
        }
        var lines = [
            "monitor-loadgen: \(plan.agents) \(plan.dialect.rawValue) agents against \(plan.host):\(plan.port), \(pace)",
            "  connections: \(connected) connected, \(connectFailures) failed, \(unexpectedCloses) closed by the gateway, \(openAtEnd) open at the end (ramp-up \(format(rampUpSeconds)) s)",
            "  samples:     \(samplesSent) sent, \(plan.dialect == .native ? String(samplesAcknowledged) : "n/a") acknowledged",
            "  window:      \(format(windowSeconds)) s, \(sentInWindow) sent, \(acknowledgedInWindow) acknowledged, \(format(throughput)) samples/s",
        ]
        if plan.dialect == .native {
            lines.append(
                "  send→ack:    p50 \(ms(latency.p50)) ms, p90 \(ms(latency.p90)) ms, p99 \(ms(latency.p99)) ms, max \(ms(latency.max)) ms (\(latency.count) samples)"
            )
        }
        lines.append("  errors:      \(errors)")
        for (reason, count) in errorReasons.sorted(by: { $0.value > $1.value }) {
            lines.append("    \(count) × \(reason)")
        }
        return lines.joined(separator: "\n")
    }

    /// One line of JSON with every figure, fractions rounded to three decimals, latencies in microseconds.
    public var jsonLine: String {
        var json = JSONWriter()
        json.object { json in
            json.member("agents", integer: plan.agents)
            json.member("dialect", string: plan.dialect.rawValue)
            // The connections.
            json.member("connected", integer: connected)
            json.member("connect_failures", integer: connectFailures)
            json.member("unexpected_closes", integer: unexpectedCloses)
            json.member("open_at_end", integer: openAtEnd)
            // The samples over the whole run.
            json.member("samples_sent", integer: samplesSent)
            json.member("samples_acknowledged", integer: samplesAcknowledged)
            json.member("errors", integer: errors)
            // The measurement window.
            json.member("ramp_up_seconds", number: roundedToThreeDecimals(rampUpSeconds))
            json.member("window_seconds", number: roundedToThreeDecimals(windowSeconds))
            json.member("sent_in_window", integer: sentInWindow)
            json.member("acknowledged_in_window", integer: acknowledgedInWindow)
            json.member("samples_per_second", number: roundedToThreeDecimals(throughput))
            // Send→ack latency within the window.
            json.member("latency_count", integer: latency.count)
            json.member("latency_p50_us", integer: latency.p50)
            json.member("latency_p90_us", integer: latency.p90)
            json.member("latency_p99_us", integer: latency.p99)
            json.member("latency_max_us", integer: latency.max)
        }
        return json.text
    }

    private func roundedToThreeDecimals(_ value: Double) -> Double {
        (value * 1000).rounded() / 1000
    }

    private func format(_ value: Double) -> String {
        String(roundedToThreeDecimals(value))
    }

    private func ms(_ microseconds: UInt32) -> String {
        format(Double(microseconds) / 1000)
    }
}
