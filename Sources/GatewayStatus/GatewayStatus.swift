// GatewayStatus: the operator's view of the agents, `GET /` and `GET /api/v1/agents`.
//
// What it holds: the status page (HTML built and escaped here, with its inline script and style),
// the `/api/v1/agents` document, and the words both use for an agent's health.
//
// What it may depend on: GatewayStore (the snapshots it renders), MonitorModel, MonitorProtocol
// (its JSON writer) and MonitorSystem (the log's time format). No NIO: the HTTP port in GatewayKit
// serves what this renders.
