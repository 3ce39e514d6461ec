@testable import GatewayConfig
@testable import MonitorConfig

/// What the configuration suites assert on: a `[monitord]` or `[agent]` body parsed as a file,
/// and the error's text, or nil when it parses.
protocol ConfigurationErrorText {}

extension ConfigurationErrorText {
    func gatewayError(_ body: String) -> String? {
        do {
            _ = try GatewayConfiguration.parse("[monitord]\n" + body, file: "m.conf")
            return nil
        } catch {
            return error.description
        }
    }

    func agentError(_ body: String) -> String? {
        do {
            _ = try AgentConfiguration.parse("[agent]\n" + body, file: "a.conf")
            return nil
        } catch {
            return error.description
        }
    }
}
