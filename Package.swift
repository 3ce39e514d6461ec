// swift-tools-version:6.0
import PackageDescription

let strictSwift: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "monitord",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "monitord", targets: ["monitord"]),
        .executable(name: "monitor-agent", targets: ["monitor-agent"]),
        .executable(name: "monitor-loadgen", targets: ["monitor-loadgen"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        // NIOHTTPCompression: gzip for /metrics when the scraper asks (zlib from the system).
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        // Tests only: property-based checks of the store's invariants.
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.1"),
    ],
    targets: [
        .systemLibrary(
            name: "CSystemd",
            pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"])]
        ),
        .systemLibrary(
            name: "CSnappy",
            pkgConfig: "snappy",
            providers: [.apt(["libsnappy-dev"])]
        ),
        // statfs(2) and linux/magic.h (libc's own headers: nothing to link).
        .systemLibrary(name: "CFileSystem"),
        .systemLibrary(name: "CMalloc"),
        .systemLibrary(
            name: "CCrypt",
            pkgConfig: "libcrypt",
            providers: [.apt(["libcrypt-dev"])]
        ),
        // The layers, bottom up; each target's doc comment (in the file named after it) says what
        // it is for and what it may import. Nothing imports upwards.
        .target(name: "MonitorModel", swiftSettings: strictSwift),
        .target(name: "MonitorProtocol", dependencies: ["MonitorModel"], swiftSettings: strictSwift),
        .target(
            name: "MonitorSystem",
            dependencies: ["CSystemd", "CFileSystem", "CMalloc", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSwift
        ),
        .target(name: "MonitorConfig", dependencies: ["MonitorModel", "MonitorSystem"], swiftSettings: strictSwift),
        // The gateway's sections of the configuration: out of MonitorConfig, so the agent links none of it.
        .target(
            name: "GatewayConfig", dependencies: ["MonitorModel", "MonitorSystem", "MonitorConfig"],
            swiftSettings: strictSwift),
        .target(
            name: "AgentSpool",
            dependencies: [
                "MonitorModel", "MonitorSystem", "MonitorConfig", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift
        ),
        // Holds SIGHUP, SIGTERM and SIGINT from the daemons' first instant, before the Swift
        // runtime starts (a C constructor); DaemonKit's StartupSignals replays them.
        .target(name: "CStartupSignals"),
        .target(
            name: "DaemonKit",
            dependencies: [
                "CStartupSignals",
                "MonitorProtocol",
                "MonitorSystem",
                "MonitorConfig",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift
        ),
        .target(
            name: "AgentKit",
            dependencies: [
                "MonitorModel",
                "MonitorProtocol",
                "MonitorSystem",
                "MonitorConfig",
                "AgentSpool",
                "DaemonKit",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift
        ),
        // The gateway's store and its exposition: no NIO, no transport.
        .target(
            name: "GatewayStore",
            dependencies: ["MonitorModel", "MonitorSystem"],
            swiftSettings: strictSwift
        ),
        // The write-ahead log's files: its format, readers and recovery, without threads or NIO
        // (so that scripts/fuzz.sh builds recovery as it runs).
        .target(
            name: "GatewayWALFiles",
            dependencies: [
                "GatewayStore", "MonitorModel", "MonitorSystem", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift
        ),
        // The gateway's write-ahead log (acknowledge = durable): the spool's framing and file
        // operations from MonitorSystem, fsync on a thread of NIOPosix's pool.
        .target(
            name: "GatewayWAL",
            dependencies: [
                "GatewayWALFiles", "GatewayStore", "MonitorModel", "MonitorSystem",
                .product(name: "Logging", package: "swift-log"), .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strictSwift
        ),
        // The status page and /api/v1/agents, rendered from the store's snapshots.
        .target(
            name: "GatewayStatus",
            dependencies: ["GatewayStore", "MonitorModel", "MonitorProtocol", "MonitorSystem"],
            swiftSettings: strictSwift
        ),
        .target(
            name: "GatewayKit",
            dependencies: [
                "GatewayWAL",
                "GatewayStore",
                "GatewayStatus",
                "MonitorModel",
                "MonitorProtocol",
                "MonitorSystem",
                "MonitorConfig",
                "GatewayConfig",
                "DaemonKit",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPCompression", package: "swift-nio-extras"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSwift
        ),
        // Remote write needs protobuf and snappy, and swift-protobuf brings full Foundation: kept
        // out of the gateway's other modules so that only monitord links it.
        .target(
            name: "MonitorRemoteWrite",
            dependencies: [
                "MonitorModel",
                "MonitorConfig",
                "GatewayConfig",
                "DaemonKit",
                "GatewayStore",
                "MonitorSystem",
                "CSnappy",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            exclude: ["remote_write.proto"],
            swiftSettings: strictSwift
        ),
        // The HTTP port's web config file (exporter-toolkit format): YAML through Yams, which needs
        // full Foundation, and bcrypt through libxcrypt. Like remote write, only monitord links it.
        .target(
            name: "MonitorWebConfig",
            dependencies: [
                "MonitorSystem",
                "MonitorConfig",
                "GatewayKit",
                "CCrypt",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: strictSwift
        ),
        .executableTarget(
            name: "monitord",
            dependencies: [
                "MonitorModel",
                "MonitorConfig",
                "GatewayConfig",
                "DaemonKit",
                "GatewayKit",
                "MonitorRemoteWrite",
                "MonitorWebConfig",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSwift
        ),
        // No swift-argument-parser: it would bring FoundationEssentials and the Regex runtime into the
        // agent (see Sources/monitor-agent/AgentCommandLine.swift).
        .executableTarget(
            name: "monitor-agent",
            dependencies: ["MonitorModel", "MonitorSystem", "MonitorConfig", "DaemonKit", "AgentKit"],
            swiftSettings: strictSwift
        ),
        .target(
            name: "LoadGenCore",
            dependencies: [
                "MonitorModel",
                "MonitorProtocol",
                "DaemonKit",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strictSwift
        ),
        .executableTarget(
            name: "monitor-loadgen",
            dependencies: [
                "LoadGenCore",
                "MonitorModel",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSwift
        ),
        // Tests only: the helpers both test targets share (promtool, the /api/v1/agents document, a
        // seeded generator, temporary directories); Foundation only, nothing of the product.
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        .testTarget(
            name: "LoadGenTests",
            dependencies: [
                "LoadGenCore",
                "MonitorConfig",
                "GatewayConfig",
                "GatewayKit",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(
            name: "UnitTests",
            dependencies: [
                "MonitorModel",
                "MonitorProtocol",
                "MonitorSystem",
                "MonitorConfig",
                "GatewayConfig",
                "AgentSpool",
                "DaemonKit",
                "AgentKit",
                "GatewayKit",
                "GatewayStatus",
                "GatewayStore",
                "GatewayWAL",
                "GatewayWALFiles",
                "MonitorRemoteWrite",
                "MonitorWebConfig",
                "CSnappy",
                "TestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ]
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["monitord", "monitor-agent", "TestSupport"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
