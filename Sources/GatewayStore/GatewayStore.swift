// GatewayStore: what the gateway knows of its agents, and `/metrics` rendered from it.
//
// What it holds: the agent store (records, quotas, snapshots, liveness), the Prometheus and
// OpenMetrics exposition (`MetricsPage`, `PrometheusTextWriter`, each agent's rendered lines kept
// between scrapes, content negotiation), the gateway's own `process_*` figures, and
// `SampleForwarder`, the seam remote write plugs into, with `ForwardingLog`, the write-ahead log
// as remote write reads it, and `WALRecord`, the log's record (so that the log and remote write
// share it and neither imports the other), with `LogCheckpoint`, what the log's records add up to
// per agent (the log writes it into each segment; a restart installs it into the store).
//
// What it may depend on: MonitorModel and MonitorSystem (the `/proc` reader for the process
// figures). No NIO and no transport: the store is driven with the time passed in, and the page is
// bytes, so both are tested without a socket.
