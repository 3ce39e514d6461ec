// MonitorWebConfig: the HTTP port's web config file (`web-config-file`), in the exporter-toolkit
// format node_exporter reads with --web.config.file: TLS, client certificates, basic auth.
//
// What it holds: the YAML reading (Yams), bcrypt checks (libxcrypt through CCrypt), the password
// cache, and `WebConfigGuard`, the `HTTPPortGuard` GatewayKit's HTTP port applies.
//
// What it may depend on: MonitorSystem, MonitorConfig, GatewayKit (for the guard protocol),
// NIOCore, NIOPosix, NIOHTTP1, NIOSSL, Yams and CCrypt. Yams needs full Foundation, which is why
// this is a module of its own that only monitord links (monitord links Foundation through
// swift-protobuf already).
