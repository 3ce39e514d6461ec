// MonitorSystem: the daemons' side of the operating system.
//
// What it holds: bounded whole-file reads, sd_notify (readiness, watchdog, status), the systemd
// journal's native protocol, the generic log handlers and the choice between journal and stderr.
//
// What it may depend on: the C library, libsystemd (CSystemd) and swift-log. Nothing of the
// product: it knows neither samples nor configurations.
