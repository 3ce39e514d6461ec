// libFuzzer entry point for the INI parser and both daemons' configurations, and the tokens
// file; built by scripts/fuzz.sh, not by SwiftPM.
//
// Checked properties: no crash or hang on any bytes; a configuration that parses renders to a
// file that parses back to an equal configuration (what `--check-config --verbose` prints is
// a valid file meaning the same thing, but for the agent's token, which it never prints).

@testable import GatewayConfig
@testable import MonitorConfig

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzConfiguration(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    let text: String
    do {
        text = try INIParser.decode(bytes, file: "fuzz.conf")
    } catch {
        return 0
    }
    if let gateway = try? GatewayConfiguration.parse(text, file: "fuzz.conf") {
        guard let again = try? GatewayConfiguration.parse(gateway.rendered(), file: "rendered"), again == gateway else {
            fatalError("gateway configuration does not survive rendering:\n\(gateway.rendered())")
        }
    }
    if let agent = try? AgentConfiguration.parse(text, file: "fuzz.conf") {
        // The token is never printed (it is shown as a comment), so the rendered file means the same
        // configuration without it.
        var withoutToken = agent
        withoutToken.token = nil
        guard let again = try? AgentConfiguration.parse(agent.rendered(), file: "rendered"), again == withoutToken
        else {
            fatalError("agent configuration does not survive rendering:\n\(agent.rendered())")
        }
    }
    _ = try? AgentTokens.parse(text, file: "tokens")
    return 0
}
