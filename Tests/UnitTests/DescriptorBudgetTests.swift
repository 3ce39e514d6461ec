import GatewayConfig
import MonitorConfig
import Testing

@testable import GatewayKit

/// The descriptor budget lowering the connection limits (audit attack2/03): a per-address limit left at
/// its default above a lowered max-connections let one address take every connection.
@Suite("DescriptorBudget")
struct DescriptorBudgetTests {
    @Test("a lowered max-connections lowers max-connections-per-address to a quarter of it, with a warning naming both")
    func perAddressFollowsLoweredTotal() {
        let configuration = GatewayConfiguration()
        #expect(configuration.maxConnections == 20000 && configuration.maxConnectionsPerAddress == 2000)
        let (fitted, warnings) = DescriptorBudget(limit: 300).fit(configuration)
        #expect(fitted.maxConnections == 129)
        #expect(fitted.maxConnectionsPerAddress == 32)
        #expect(
            warnings.contains {
                $0.contains("max-connections-per-address lowered from 2000 to 32") && $0.contains("129")
            }, "\(warnings)")
    }

    @Test("the smallest budget still admits one connection per address")
    func tinyBudget() {
        let (fitted, _) = DescriptorBudget(limit: 1).fit(GatewayConfiguration())
        #expect(fitted.maxConnections >= 1)
        #expect(fitted.maxConnectionsPerAddress >= 1 && fitted.maxConnectionsPerAddress <= fitted.maxConnections)
    }

    @Test(
        "enough descriptors: a per-address limit within a quarter of max-connections is left alone, without a warning")
    func untouchedWhenRoomy() {
        var configuration = GatewayConfiguration()
        configuration.maxConnectionsPerAddress = 100
        let (fitted, warnings) = DescriptorBudget(limit: 1 << 20).fit(configuration)
        #expect(fitted.maxConnections == 20000 && fitted.maxConnectionsPerAddress == 100)
        #expect(warnings.isEmpty, "\(warnings)")
    }

    @Test("a configured max-connections below four times the per-address limit lowers it too")
    func configuredTotalBounded() {
        var configuration = GatewayConfiguration()
        configuration.maxConnections = 100
        let (fitted, warnings) = DescriptorBudget(limit: 1 << 20).fit(configuration)
        #expect(fitted.maxConnectionsPerAddress == 25)
        #expect(
            warnings.contains { $0.contains("from 2000 to 25") && $0.contains("max-connections (100)") }, "\(warnings)")
    }
}
