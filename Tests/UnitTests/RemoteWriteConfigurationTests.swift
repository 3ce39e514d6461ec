import Foundation
import TestSupport
import Testing

@testable import GatewayConfig
@testable import MonitorConfig
@testable import MonitorModel
@testable import MonitorRemoteWrite

/// `[remote-write]` in monitord.conf: defaults, every key, and errors at the right line.
@Suite struct RemoteWriteConfigurationTests {
    func parse(_ section: String) throws(ConfigurationError) -> RemoteWriteConfiguration? {
        try GatewayConfiguration.parse("[monitord]\nlisten = 127.0.0.1:1\n" + section, file: "m.conf").remoteWrite
    }

    func error(_ section: String) -> String? {
        do {
            _ = try parse(section)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func absentSectionForwardsNothing() throws {
        #expect(try parse("") == nil)
    }

    @Test func onlyTheURLIsRequiredAndDefaultsFollowPrometheusQueueConfig() throws {
        let configuration = try #require(try parse("[remote-write]\nurl = http://127.0.0.1:9090/api/v1/write\n"))
        #expect(
            configuration.url
                == RemoteWriteEndpoint(scheme: .http, host: "127.0.0.1", port: 9090, path: "/api/v1/write"))
        #expect(configuration.queueCapacity == 100_000)
        #expect(configuration.maxSamplesPerSend == 2000)
        #expect(configuration.flushInterval == .seconds(5))
        #expect(configuration.externalLabels == [MetricLabel(name: "job", value: "monitord")])
        #expect(configuration.bearerTokenFile == nil && configuration.basicAuthUsername == nil)
    }

    @Test func everyKeyIsReadAndTheRenderedFileParsesBack() throws {
        let dir = try makeTemporaryDirectory("rw-config")
        try "s3cret\n".write(toFile: dir + "/password", atomically: true, encoding: .utf8)
        let text = """
            [remote-write]
            url = http://[::1]:8080/receive?tenant=a
            queue-capacity = 4000
            max-samples-per-send = 400
            flush-interval = 250ms
            timeout = 3s
            min-backoff = 10ms
            max-backoff = 1s
            external-labels = job=edge, region = eu-west   # comment
            basic-auth-username = monitord
            basic-auth-password-file = \(dir)/password

            """
        let configuration = try #require(try parse(text))
        #expect(configuration.url.description == "http://[::1]:8080/receive?tenant=a")
        #expect(configuration.queueCapacity == 4000)
        #expect(configuration.maxSamplesPerSend == 400)
        #expect(configuration.flushInterval == .milliseconds(250))
        #expect(configuration.timeout == .seconds(3))
        #expect(configuration.minBackoff == .milliseconds(10))
        #expect(configuration.maxBackoff == .seconds(1))
        #expect(
            configuration.externalLabels == [
                MetricLabel(name: "job", value: "edge"), MetricLabel(name: "region", value: "eu-west"),
            ])
        #expect(try RemoteWriteAuthorization.header(for: configuration) == "Basic bW9uaXRvcmQ6czNjcmV0")
        var gateway = GatewayConfiguration()
        gateway.remoteWrite = configuration
        let rendered = gateway.rendered()
        #expect(!rendered.contains("s3cret"), "secrets are never printed")
        #expect(try GatewayConfiguration.parse(rendered, file: "r.conf") == gateway)
    }

    @Test func mistakesAreReportedAtTheirLine() {
        #expect(
            error("[remote-write]\nqueue-capacity = 10\n")
                == "m.conf:4: [remote-write] needs url (e.g. url = http://127.0.0.1:9090/api/v1/write)")
        #expect(
            error("[remote-write]\nurl = ftp://mimir/api/v1/push\n")?.hasPrefix(
                "m.conf:4: url: \"ftp://mimir/api/v1/push\" has scheme \"ftp\"; only http and https") == true)
        #expect(error("[remote-write]\nurl = http://u:p@h/x\n")?.contains("must not contain credentials") == true)
        #expect(error("[remote-write]\nurl = http://h:99999/x\n")?.contains("bad port") == true)
        #expect(error("[remote-write]\nurl = 127.0.0.1:9090\n")?.contains("is not a URL") == true)
        #expect(
            error("[remote-write]\nurl = http://h/\nqueue-capacity = 2\n")?.hasPrefix(
                "m.conf:5: queue-capacity: 2 is out of range") == true)
        #expect(
            error("[remote-write]\nurl = http://h/\nexternal-labels = agent_number=x\n")?.hasPrefix(
                "m.conf:5: external-labels:") == true)
        #expect(error("[remote-write]\nurl = http://h/\nexternal-labels = __x=1\n") != nil)
        #expect(
            error("[remote-write]\nurl = http://h/\nexternal-labels = job\n")?.contains("is not name=value") == true)
        #expect(
            error("[remote-write]\nurl = http://h/\nbearer-token-file = /nonexistent/token\n")?.hasPrefix(
                "m.conf:5: bearer-token-file: \"/nonexistent/token\": cannot read") == true)
        #expect(error("[remote-write]\nurl = http://h/\nbasic-auth-username = me\n")?.contains("go together") == true)
        #expect(
            error("[remote-write]\nurl = http://h/\nmin-backoff = 2s\nmax-backoff = 1s\n")?.hasPrefix(
                "m.conf:6: max-backoff") == true)
        #expect(
            error("[remote-write]\nurl = http://h/\ntls-ciphers = /x\n")?.contains("unknown key \"tls-ciphers\"")
                == true)
    }

    /// `max-sample-age`: off (0) by default, a duration of at least a second otherwise.
    @Test func maxSampleAgeIsOffByDefaultAndADurationOtherwise() throws {
        let url = "[remote-write]\nurl = http://127.0.0.1:9090/api/v1/write\n"
        #expect(try parse(url)?.maxSampleAge == nil)
        #expect(try parse(url + "max-sample-age = 0\n")?.maxSampleAge == nil)
        #expect(try parse(url + "max-sample-age = 1h\n")?.maxSampleAge == .seconds(3600))
        #expect(error(url + "max-sample-age = 500ms\n") == "m.conf:5: max-sample-age: 500ms is too short (at least 1s)")
        #expect(
            error(url + "max-sample-age = old\n")?.hasPrefix("m.conf:5: max-sample-age: \"old\" is not a duration")
                == true)
        var gateway = GatewayConfiguration()
        gateway.remoteWrite = try parse(url + "max-sample-age = 90m\n")
        #expect(try GatewayConfiguration.parse(gateway.rendered(), file: "r.conf") == gateway)
    }

    // MARK: https and tenants

    @Test func httpsURLsTenantAndServerName() throws {
        let configuration = try #require(
            try parse(
                "[remote-write]\nurl = https://mimir.example/api/v1/push\ntenant-id = team-a_1\ntls-server-name = mimir.internal\n"
            ))
        #expect(
            configuration.url
                == RemoteWriteEndpoint(scheme: .https, host: "mimir.example", port: 443, path: "/api/v1/push"))
        #expect(configuration.url.hostHeader == "mimir.example")
        #expect(configuration.tenantID == "team-a_1")
        #expect(configuration.tlsServerName == "mimir.internal")
        let rendered = try GatewayConfiguration.parse(
            GatewayConfiguration.parse("[remote-write]\nurl = https://m:8443/p\ntenant-id = t\n", file: "m.conf")
                .rendered(),
            file: "again")
        #expect(rendered.remoteWrite?.tenantID == "t" && rendered.remoteWrite?.url.port == 8443)
    }

    @Test func tlsMistakesAreReportedAtTheirLine() {
        #expect(
            error("[remote-write]\nurl = http://h/\ntls-ca-file = /etc/ssl/certs/ca-certificates.crt\n")
                == "m.conf:5: tls-ca-file: only applies to an https:// url")
        #expect(
            error("[remote-write]\nurl = https://h/\ntls-certificate = /c.pem\n")?.hasPrefix(
                "m.conf:5: tls-certificate and tls-key go together") == true)
        #expect(
            error("[remote-write]\nurl = https://h/\ntls-ca-file = /nonexistent/ca.pem\n")?.hasPrefix(
                "m.conf:5: tls-ca-file: \"/nonexistent/ca.pem\": cannot read") == true)
        #expect(error("[remote-write]\nurl = https://h/\ntenant-id = a b\n")?.hasPrefix("m.conf:5: tenant-id:") == true)
        #expect(error("[remote-write]\nurl = https://h/\ntenant-id = ..\n") != nil)
        #expect(error("[remote-write]\nurl = https://h/\ntenant-id = \(String(repeating: "t", count: 151))\n") != nil)
        #expect(
            error("[remote-write]\nurl = https://h/\ntls-server-name = 10.0.0.1\n")?.contains("not a DNS name") == true)
        #expect(error("[remote-write]\nurl = https://h/\ntls-server-name = a b\n") != nil)
    }

    // MARK: rendering

    /// `--check-config --verbose` prints the section byte for byte as before the key table drove it
    /// (unset optional keys left out, a trailing space after an empty `external-labels =`), and what
    /// it prints parses back to the same configuration.
    @Test func everyKeyRendersAndTheRenderedSectionRoundTrips() throws {
        let dir = try makeTemporaryDirectory("rw-render")
        try "s3cret\n".write(toFile: dir + "/password", atomically: true, encoding: .utf8)
        try "t0ken\n".write(toFile: dir + "/token", atomically: true, encoding: .utf8)
        try "-----BEGIN CERTIFICATE-----\n".write(toFile: dir + "/ca.pem", atomically: true, encoding: .utf8)
        try "-----BEGIN CERTIFICATE-----\n".write(toFile: dir + "/cert.pem", atomically: true, encoding: .utf8)
        try "-----BEGIN PRIVATE KEY-----\n".write(toFile: dir + "/key.pem", atomically: true, encoding: .utf8)
        let everyKey = """
            [remote-write]
            url = https://mimir.example:8443/api/v1/push
            queue-capacity = 4000
            max-samples-per-send = 400
            flush-interval = 250ms
            timeout = 3s
            min-backoff = 10ms
            max-backoff = 1s
            external-labels = job=edge, region=eu-west
            max-sample-age = 90m
            basic-auth-username = monitord
            basic-auth-password-file = \(dir)/password
            tls-ca-file = \(dir)/ca.pem
            tls-certificate = \(dir)/cert.pem
            tls-key = \(dir)/key.pem
            tls-server-name = mimir.internal
            tenant-id = team-a

            """
        let bearerAndNoLabels = """
            [remote-write]
            url = http://127.0.0.1:9090/api/v1/write
            queue-capacity = 100000
            max-samples-per-send = 2000
            flush-interval = 5s
            timeout = 30s
            min-backoff = 100ms
            max-backoff = 10s
            external-labels = \("")
            max-sample-age = 0
            bearer-token-file = \(dir)/token

            """
        let defaults = """
            [remote-write]
            url = http://127.0.0.1:9090/api/v1/write
            queue-capacity = 100000
            max-samples-per-send = 2000
            flush-interval = 5s
            timeout = 30s
            min-backoff = 100ms
            max-backoff = 10s
            external-labels = job=monitord
            max-sample-age = 0

            """
        for section in [everyKey, bearerAndNoLabels, defaults] {
            let configuration = try #require(try parse(section))
            #expect(configuration.rendered() == section)
            #expect(try parse(configuration.rendered()) == configuration)
        }
        let minimal = try #require(try parse("[remote-write]\nurl = http://127.0.0.1:9090/api/v1/write\n"))
        #expect(minimal.rendered() == defaults)
    }
}
