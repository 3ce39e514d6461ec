import Testing

@testable import GatewayConfig
@testable import MonitorConfig

/// The `[monitord]` keys of issue 12 (names fixed by the SPEC): `acknowledge`, `wal-directory`,
/// `wal-fsync`, `wal-max-size`.
@Suite("Configuration: acknowledge and the write-ahead log")
struct ConfigurationDurabilityTests: ConfigurationErrorText {
    @Test("defaults: received, no log, group commit, 1GiB")
    func defaults() {
        let configuration = GatewayConfiguration()
        #expect(configuration.acknowledge == .received && configuration.walDirectory == nil)
        #expect(configuration.walFsyncPeriod == nil && configuration.walMaxBytes == 1 << 30)
    }

    @Test("every key read, and rendered back as a file that reads the same")
    func everyKey() throws {
        let text =
            "[monitord]\nacknowledge = durable\nwal-directory = /var/lib/monitord\nwal-fsync = 250ms\nwal-max-size = 64MiB\n"
        let configuration = try GatewayConfiguration.parse(text, file: "m.conf")
        #expect(configuration.acknowledge == .durable && configuration.walDirectory == "/var/lib/monitord")
        #expect(configuration.walFsyncPeriod == .milliseconds(250) && configuration.walMaxBytes == 64 << 20)
        #expect(try GatewayConfiguration.parse(configuration.rendered(), file: "r") == configuration)
        let always = try GatewayConfiguration.parse("[monitord]\nwal-fsync = always\n", file: "m.conf")
        #expect(always.walFsyncPeriod == nil)
    }

    @Test("bad values and impossible combinations name the file, the line and the key")
    func badValues() {
        #expect(
            gatewayError("acknowledge = fsynced\n")
                == "m.conf:2: acknowledge: \"fsynced\" is not received, durable or forwarded")
        #expect(
            gatewayError("wal-directory = var/lib\n")
                == "m.conf:2: wal-directory: \"var/lib\" is not an absolute path (or empty for no log)")
        #expect(
            gatewayError("wal-fsync = never\n")
                == "m.conf:2: wal-fsync: \"never\" is not always or a duration (e.g. 100ms)")
        #expect(
            gatewayError("wal-fsync = 0s\n") == "m.conf:2: wal-fsync: \"0s\" is not always or a duration (e.g. 100ms)")
        #expect(
            gatewayError("wal-max-size = 1023KiB\n")
                == "m.conf:2: wal-max-size: 1023KiB is out of range (1MiB...1024GiB)")
        #expect(
            gatewayError("wal-max-size = 1025GiB\n")
                == "m.conf:2: wal-max-size: 1025GiB is out of range (1MiB...1024GiB)")
        #expect(
            gatewayError("log-level = info\nacknowledge = durable\n")
                == "m.conf:3: acknowledge = durable needs wal-directory: the write-ahead log is what makes a sample durable"
        )
        #expect(
            gatewayError("acknowledge = forwarded\nwal-directory = /w\n")
                == "m.conf:2: acknowledge = forwarded needs a [remote-write] section: a sample is acknowledged once its receiver accepted it"
        )
        #expect(
            gatewayError("log-level = info\nacknowledge = forwarded\n\n[remote-write]\nurl = http://127.0.0.1:9/w\n")
                == "m.conf:3: acknowledge = forwarded needs wal-directory: remote write forwards from the write-ahead log, whose confirmed position is what acknowledges a sample"
        )
        #expect(
            gatewayError("acknowledge = forwarded\nwal-directory = /w\n\n[remote-write]\nurl = http://127.0.0.1:9/w\n")
                == nil)
        #expect(gatewayError("acknowledge = durable\nwal-directory = /w\n") == nil)
    }
}
