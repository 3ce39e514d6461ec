public import DaemonKit
public import GatewayConfig

// Here rather than in DaemonKit beside the agent's: the conformance would make every program that
// links DaemonKit (the agent too) carry the gateway's whole configuration.
extension GatewayConfiguration: DaemonConfiguration {}
