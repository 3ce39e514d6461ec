import Foundation
import TestSupport
import Testing

/// The HTTP port behind a web config file (exporter-toolkit format): TLS, client certificates and
/// basic auth, tried with curl and scraped by Debian's Prometheus.
@Suite("Web config file", .serialized)
struct WebConfigTests {
    /// pyca/bcrypt 5.0 hashes of "scrape-secret" and "other-secret", cost 5.
    static let scrapeSecretHash = "$2b$05$HhlR9nhbm34FYc.gTlKhRO3qWYuy6/T0gz6BKyi9N3CimsPNnd29K"
    static let otherSecretHash = "$2b$05$OBxtApzsLbyRvfc23aFWgu81ruMh8zVyaWAIarVs7b.r3UEFsSAU6"

    /// Writes a web config file and returns the [monitord] line naming it.
    func webConfig(_ text: String, in dir: String) throws -> (line: String, path: String) {
        let path = dir + "/web.yml"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return ("web-config-file = \(path)\n", path)
    }

    func tlsAndUsers(_ certificates: Certificates, extraTLS: String = "", hash: String = scrapeSecretHash)
        -> String
    {
        """
        tls_server_config:
          cert_file: \(certificates.serverCertificate)
          key_file: \(certificates.serverKey)
        \(extraTLS)
        basic_auth_users:
          prometheus: \(hash)
        """
    }

    @Test("over https: no password, a wrong one and a plain-http client get nothing; the right one every path")
    func basicAuthOverTLS() async throws {
        let certificates = try Certificates.make()
        let (line, _) = try webConfig(tlsAndUsers(certificates), in: certificates.directory)
        try await withGateway(extraConfiguration: line) { gateway in
            let base = "https://localhost:\(gateway.metricsPort)"
            #expect(gateway.process.output.contains("metrics on https://"))
            let anonymous = try await Curl.run(["--cacert", certificates.ca, base + "/metrics"])
            #expect(anonymous.status == 401)
            #expect(anonymous.headers.lowercased().contains("www-authenticate: basic realm=\"monitord\""))
            let wrong = try await Curl.run(["--cacert", certificates.ca, "-u", "prometheus:nope", base + "/metrics"])
            #expect(wrong.status == 401)
            let unknown = try await Curl.run(["--cacert", certificates.ca, "-u", "alice:scrape-secret", base + "/"])
            #expect(unknown.status == 401)
            for path in ["/metrics", "/", "/api/v1/agents", "/nothing-here"] {
                let protected = try await Curl.run(["--cacert", certificates.ca, base + path])
                #expect(protected.status == 401, "\(path) served without a password")
            }
            for path in ["/metrics", "/", "/api/v1/agents"] {
                let right = try await Curl.run(
                    ["--cacert", certificates.ca, "-u", "prometheus:scrape-secret", base + path])
                #expect(right.status == 200, "\(path): \(right.status) \(right.body.prefix(200))")
            }
            let plain = try await Curl.run(["http://127.0.0.1:\(gateway.metricsPort)/metrics"])
            #expect(plain.status != 200)
            let unverified = try await Curl.run(["-u", "prometheus:scrape-secret", base + "/metrics"])
            #expect(unverified.exitCode != 0, "curl must not trust the test CA by default")
        }
    }

    @Test("RequireAndVerifyClientCert: no client certificate, or one from another CA, cannot connect")
    func clientCertificateRequired() async throws {
        let certificates = try Certificates.make()
        let stranger = try Certificates.make()
        let extra = "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: \(certificates.ca)"
        let (line, _) = try webConfig(tlsAndUsers(certificates, extraTLS: extra), in: certificates.directory)
        try await withGateway(extraConfiguration: line) { gateway in
            let url = "https://localhost:\(gateway.metricsPort)/metrics"
            let common = ["--cacert", certificates.ca, "-u", "prometheus:scrape-secret"]
            let without = try await Curl.run(common + [url])
            #expect(without.status == 0 && without.exitCode != 0, "served without a client certificate")
            let foreign = try await Curl.run(
                common + ["--cert", stranger.clientCertificate, "--key", stranger.clientKey, url])
            #expect(foreign.status == 0 && foreign.exitCode != 0, "served to a certificate of another CA")
            let good = try await Curl.run(
                common + ["--cert", certificates.clientCertificate, "--key", certificates.clientKey, url])
            #expect(good.status == 200, "\(good.exitCode) \(good.status)")
        }
    }

    @Test("min_version TLS13 refuses a TLS 1.2 client")
    func minimumVersion() async throws {
        let certificates = try Certificates.make()
        let (line, _) = try webConfig(
            tlsAndUsers(certificates, extraTLS: "  min_version: TLS13"), in: certificates.directory)
        try await withGateway(extraConfiguration: line) { gateway in
            let url = "https://localhost:\(gateway.metricsPort)/metrics"
            let common = ["--cacert", certificates.ca, "-u", "prometheus:scrape-secret"]
            let old = try await Curl.run(common + ["--tlsv1.2", "--tls-max", "1.2", url])
            #expect(old.status == 0 && old.exitCode != 0, "a TLS 1.2 client was served")
            let current = try await Curl.run(common + ["--tlsv1.3", url])
            #expect(current.status == 200)
        }
    }

    @Test("a 1 MB Authorization header and a flood of wrong passwords: refused, bounded, and the port still serves")
    func hostileClients() async throws {
        let dir = try makeTemporaryDirectory()
        let (line, _) = try webConfig("basic_auth_users:\n  prometheus: \(Self.scrapeSecretHash)\n", in: dir)
        try await withGateway(extraConfiguration: line) { gateway in
            let huge = String(repeating: "A", count: 1 << 20)
            let request =
                "GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Basic \(huge)\r\nConnection: close\r\n\r\n"
            let response = try? HTTPClient.exchange(port: gateway.metricsPort, request: request)
            #expect(response.map { $0.status != 200 } ?? true)
            let before = residentKiB(of: gateway.process.pid)
            await withTaskGroup(of: Void.self) { group in
                for worker in 0..<8 {
                    group.addTask {
                        for attempt in 0..<40 {
                            let auth = Data("prometheus:guess-\(worker)-\(attempt)".utf8).base64EncodedString()
                            let answer = try? HTTPClient.exchange(
                                port: gateway.metricsPort,
                                request:
                                    "GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Basic \(auth)\r\nConnection: close\r\n\r\n"
                            )
                            #expect(answer.map { $0.status == 401 || $0.status == 503 } ?? false)
                        }
                    }
                }
            }
            let after = residentKiB(of: gateway.process.pid)
            #expect(before > 0 && after > 0, "the gateway's RSS could not be read")
            #expect(after < before + 16 * 1024, "RSS grew from \(before) to \(after) KiB")
            let auth = Data("prometheus:scrape-secret".utf8).base64EncodedString()
            let right = try HTTPClient.exchange(
                port: gateway.metricsPort,
                request: "GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Basic \(auth)\r\nConnection: close\r\n\r\n"
            )
            #expect(right.status == 200)
        }
    }

    @Test("SIGHUP: a broken web config file is refused and the old one kept; a good one takes over")
    func reload() async throws {
        let dir = try makeTemporaryDirectory()
        let (line, path) = try webConfig("basic_auth_users:\n  prometheus: \(Self.scrapeSecretHash)\n", in: dir)
        try await withGateway(extraConfiguration: line) { gateway in
            let url = "http://127.0.0.1:\(gateway.metricsPort)/metrics"
            #expect(try await Curl.run(["-u", "prometheus:scrape-secret", url]).status == 200)
            try "basic_auth_users:\n  prometheus: $2b$31$HhlR9nhbm34FYc.gTlKhRO3qWYuy6/T0gz6BKyi9N3CimsPNnd29K\n"
                .write(toFile: path, atomically: true, encoding: .utf8)
            gateway.process.signal(SIGHUP)
            #expect(
                await eventually {
                    gateway.process.output.contains("reload refused") && gateway.process.output.contains("\(path):2:")
                }, "\(gateway.process.output.suffix(1500))")
            #expect(try await Curl.run(["-u", "prometheus:scrape-secret", url]).status == 200)
            #expect(try await Curl.run([url]).status == 401)
            try "basic_auth_users:\n  prometheus: \(Self.otherSecretHash)\n".write(
                toFile: path, atomically: true, encoding: .utf8)
            gateway.process.signal(SIGHUP)
            #expect(await eventually { try await Curl.run(["-u", "prometheus:other-secret", url]).status == 200 })
            #expect(try await Curl.run(["-u", "prometheus:scrape-secret", url]).status == 401)
        }
    }

    @Test("--check-config reads the web config file: a broken one exits 78 with file:line")
    func checkConfig() async throws {
        let dir = try makeTemporaryDirectory()
        let (line, path) = try webConfig(
            "tls_server_config:\n  cert_file: \(dir)/missing.pem\n  key_file: x\n", in: dir)
        try "[monitord]\n\(line)".write(toFile: dir + "/monitord.conf", atomically: true, encoding: .utf8)
        let check = try RunningProcess(
            executable: Products.monitord, arguments: ["--config", dir + "/monitord.conf", "--check-config"])
        #expect(await check.waitForExit() == 78)
        #expect(check.output.contains("\(path):2: cert_file \(dir)/missing.pem: cannot read"), "\(check.output)")
        try "basic_auth_users:\n  prometheus: \(Self.scrapeSecretHash)\n".write(
            toFile: path, atomically: true, encoding: .utf8)
        let good = try RunningProcess(
            executable: Products.monitord, arguments: ["--config", dir + "/monitord.conf", "--check-config"])
        #expect(await good.waitForExit() == 0, "\(good.output)")
    }

    @Test("Debian's Prometheus scrapes over https with basic auth and ingests the series")
    func prometheusScrapesOverTLS() async throws {
        let certificates = try Certificates.make()
        let (line, _) = try webConfig(tlsAndUsers(certificates), in: certificates.directory)
        try await withGateway(extraConfiguration: line) { gateway in
            let agent = try AgentProcess.start(name: "e2e-https-scraped", gatewayPort: gateway.agentPort)
            defer { agent.process.signal(SIGKILL) }
            let dir = try makeTemporaryDirectory()
            try "scrape-secret\n".write(toFile: dir + "/password", atomically: true, encoding: .utf8)
            let prometheus = try PrometheusServer.scraping(
                metricsPort: gateway.metricsPort,
                jobSettings: """
                    scheme: https
                    tls_config:
                      ca_file: \(certificates.ca)
                      server_name: localhost
                    basic_auth:
                      username: prometheus
                      password_file: \(dir)/password
                    """)
            defer { prometheus.stop() }
            let found = await prometheus.ingests("process_ram_usage_percent", agent: "e2e-https-scraped")
            #expect(found, "not ingested: \(prometheus.recentOutput)")
        }
    }
}
