import GatewayConfig
import MonitorConfig

#if canImport(Glibc)
    import Glibc
#endif

/// Shares the process's file descriptors between the agent port, the HTTP port and monitord's own
/// needs, so that the configured limits, not `EMFILE`, decide who is refused.
///
/// A refusal needs a descriptor too: the gateway accepts a connection beyond `max-connections` only to
/// send it an error line. If the limits allowed more connections than there are descriptors, `accept`
/// itself would fail, NIO would pause accepting, and both ports would go silent together. So the
/// agent connections are capped at what is left after the HTTP port's `max-http-connections` and a
/// reserve for everything else (event loops, the journal, /proc, remote write, refusals in flight).
struct DescriptorBudget: Equatable {
    /// Descriptors kept back for the process itself and for connections being refused at the moment.
    static let reserve = 128

    /// max-connections-per-address is at most max-connections divided by this.
    static let addressShareDivisor = 4

    /// The least limit monitord runs with: its reserve, and a few connections on each port.
    static let minimum = reserve + 16

    /// The soft `RLIMIT_NOFILE` in force.
    var limit: Int

    /// A limit below ``minimum``: the reserve would not be there, and `accept` or NIO's own
    /// descriptors would fail at the first flood (audit 7, 05).
    struct TooFew: Error, CustomStringConvertible {
        let limit: Int
        var description: String {
            "the open-file limit (descriptors, RLIMIT_NOFILE) is \(limit), which even raised to the hard limit is "
                + "below the \(DescriptorBudget.minimum) monitord needs (\(DescriptorBudget.reserve) for itself and a "
                + "few connections on each port); raise LimitNOFILE= in the unit (or ulimit -n)"
        }
    }

    /// Throws ``TooFew`` when the limit cannot hold the reserve and a few connections.
    func requireMinimum() throws(TooFew) {
        guard limit >= Self.minimum else { throw TooFew(limit: limit) }
    }

    /// Raises the soft descriptor limit to the hard one (as far as the kernel lets us) and returns the result.
    static func raiseToHardLimit() -> DescriptorBudget {
        var limits = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limits) == 0 else {
            return DescriptorBudget(limit: 1024)
        }
        if limits.rlim_cur < limits.rlim_max {
            var raised = limits
            raised.rlim_cur = limits.rlim_max
            if setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &raised) == 0 {
                limits = raised
            } else {
                // The hard limit may be above the kernel's nr_open; a lower raise is still worth having.
                raised.rlim_cur = min(limits.rlim_max, 1 << 20)
                if setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &raised) == 0 { limits = raised }
            }
        }
        // RLIM_INFINITY is all ones: clamping makes it Int.max, which is what "no limit" means here.
        return DescriptorBudget(limit: Int(clamping: limits.rlim_cur))
    }

    /// `configuration` with its connection limits lowered to what the descriptors allow, and a warning
    /// for each limit that had to be lowered.
    func fit(_ configuration: GatewayConfiguration) -> (GatewayConfiguration, warnings: [String]) {
        var fitted = configuration
        var warnings: [String] = []
        // The HTTP port gets at most a quarter of what is left after the reserve, and at least one connection.
        let afterReserve = max(limit - Self.reserve, 2)
        let http = min(configuration.maxHTTPConnections, max(afterReserve / 4, 1))
        if http < configuration.maxHTTPConnections {
            warnings.append(
                "max-http-connections lowered from \(configuration.maxHTTPConnections) to \(http): "
                    + "the open-file limit (descriptors, RLIMIT_NOFILE) is \(limit); raise LimitNOFILE= in the unit")
            fitted.maxHTTPConnections = http
        }
        let agents = max(afterReserve - http, 1)
        if agents < configuration.maxConnections {
            warnings.append(
                "max-connections lowered from \(configuration.maxConnections) to \(agents): "
                    + "the open-file limit (descriptors, RLIMIT_NOFILE) is \(limit), of which \(Self.reserve) are "
                    + "reserved and \(http) go to the HTTP port; raise LimitNOFILE= in the unit")
            fitted.maxConnections = agents
        }
        // One address may hold at most a quarter of the agent connections, so that a flood of silent
        // connections from one host always leaves room for the others (audit attack2/03).
        let perAddress = max(fitted.maxConnections / Self.addressShareDivisor, 1)
        if perAddress < configuration.maxConnectionsPerAddress {
            warnings.append(
                "max-connections-per-address lowered from \(configuration.maxConnectionsPerAddress) to \(perAddress): "
                    + "a quarter of the effective max-connections (\(fitted.maxConnections)), so that one address "
                    + "cannot take every connection")
            fitted.maxConnectionsPerAddress = perAddress
        }
        return (fitted, warnings)
    }
}
