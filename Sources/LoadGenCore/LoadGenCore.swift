// LoadGenCore: the load generator behind `monitor-loadgen`, simulated agents on many connections.
//
// What it may depend on: MonitorModel and MonitorProtocol (it speaks the product's own codec),
// DaemonKit (for the same framing decoder the daemons use), NIOCore and NIOPosix. Never on the
// daemons' kits: it measures them from outside.
