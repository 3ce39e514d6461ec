// MonitorSystem: the daemons' side of the operating system.
//
// What it holds: bounded whole-file reads; the one /proc reader (ProcFileReader, OpenProcFile and
// the in-place line and word scanner ProcText), for the agent's collectors and monitord's process
// metrics alike; sd_notify (readiness, watchdog, status); the systemd journal's native protocol;
// the log handler and the choice between journal and stderr.
//
// What it may depend on: the C library (statfs(2) through CFileSystem), libsystemd (CSystemd)
// and swift-log. Nothing of the product: it knows neither samples nor configurations.
