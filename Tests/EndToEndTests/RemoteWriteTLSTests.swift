import Foundation
import TestSupport
import Testing

/// Remote write to https receivers: Debian's Prometheus behind its own web config file (TLS, client
/// certificates, basic auth) and Debian's VictoriaMetrics behind its -tls flags, plus a recorder that
/// shows the tenant header as sent.
@Suite("Remote write over https", .serialized)
struct RemoteWriteTLSTests {
    /// A Prometheus receiving remote write over https only, with basic auth and (optionally) client
    /// certificates required, queried with curl the same way.
    final class SecureReceiver: @unchecked Sendable {
        let server: PrometheusServer
        var process: RunningProcess { server.process }
        var port: Int { server.port }
        let certificates: Certificates

        init(certificates: Certificates, requireClientCertificate: Bool) async throws {
            self.certificates = certificates
            let clientAuth =
                requireClientCertificate
                ? "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: \(certificates.ca)\n" : ""
            let web = """
                tls_server_config:
                  cert_file: \(certificates.serverCertificate)
                  key_file: \(certificates.serverKey)
                \(clientAuth)
                basic_auth_users:
                  writer: \(WebConfigTests.scrapeSecretHash)
                """
            server = try PrometheusServer.receiving(files: ["web.yml": web], name: "prometheus-https") {
                ["--web.config.file=\($0)/web.yml"]
            }
            let ready = await eventually(timeout: 30, every: .milliseconds(300)) {
                try await self.get("/-/ready").status == 200
            }
            guard ready else { throw E2EError("Prometheus did not become ready:\n\(process.output.suffix(2000))") }
        }

        func get(_ path: String) async throws -> Curl {
            try await Curl.run([
                "--cacert", certificates.ca, "-u", "writer:scrape-secret", "--cert", certificates.clientCertificate,
                "--key", certificates.clientKey, "https://localhost:\(port)\(path)",
            ])
        }

        func has(agent: String) async throws -> Bool {
            try await get("/api/v1/query?query=process_ram_usage_percent").body.contains(#""agent_number":"\#(agent)""#)
        }

        func stop() { process.signal(SIGKILL) }
    }

    func passwordFile(_ password: String) throws -> String {
        let path = try makeTemporaryDirectory() + "/password"
        try "\(password)\n".write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    static func section(url: String, _ lines: String) -> String {
        """
        agent-timeout = 3s
        forget-after = 30s

        [remote-write]
        url = \(url)
        flush-interval = 200ms
        min-backoff = 50ms
        max-backoff = 500ms
        \(lines)
        """
    }

    @Test("https with a CA file, a client certificate and basic auth reaches a Prometheus that requires all three")
    func prometheusOverTLS() async throws {
        let certificates = try Certificates.make()
        let receiver = try await SecureReceiver(certificates: certificates, requireClientCertificate: true)
        defer { receiver.stop() }
        let configuration = Self.section(
            url: "https://127.0.0.1:\(receiver.port)/api/v1/write",
            """
            tls-ca-file = \(certificates.ca)
            tls-certificate = \(certificates.clientCertificate)
            tls-key = \(certificates.clientKey)
            basic-auth-username = writer
            basic-auth-password-file = \(try passwordFile("scrape-secret"))
            """)
        try await withGateway(extraConfiguration: configuration) { gateway in
            let agent = try AgentProcess.start(name: "e2e-rw-https", gatewayPort: gateway.agentPort)
            defer { agent.process.signal(SIGKILL) }
            let arrived = await eventually(timeout: 30, every: .milliseconds(500)) {
                try await receiver.has(agent: "e2e-rw-https")
            }
            #expect(arrived, "monitord: \(gateway.process.output.suffix(2000))")
        }
    }

    @Test("a receiver presenting a certificate of another CA is refused, counted, logged and retried")
    func wrongCertificateIsRefused() async throws {
        let certificates = try Certificates.make()
        let stranger = try Certificates.make()
        let receiver = try await SecureReceiver(certificates: certificates, requireClientCertificate: false)
        defer { receiver.stop() }
        let configuration = Self.section(
            url: "https://localhost:\(receiver.port)/api/v1/write",
            """
            tls-ca-file = \(stranger.ca)
            basic-auth-username = writer
            basic-auth-password-file = \(try passwordFile("scrape-secret"))
            """)
        // Debug logging shows every retry's reason, not only the first and every tenth.
        try await withGateway(extraConfiguration: "log-level = debug\n" + configuration) { gateway in
            let agent = try AgentProcess.start(name: "e2e-rw-mitm", gatewayPort: gateway.agentPort)
            defer { agent.process.signal(SIGKILL) }
            let retried = await eventually(timeout: 20) {
                (try gateway.metrics().series.first { $0.name == "monitord_remote_write_samples_retried_total" }?.value
                    ?? 0) >= 8
            }
            #expect(retried, "\(gateway.process.output.suffix(2000))")
            let page = try gateway.metrics().text
            #expect(page.contains("monitord_remote_write_samples_sent_total 0\n"))
            #expect(gateway.process.output.contains("remote write failed"))
            #expect(
                await eventually { gateway.process.output.contains("CERTIFICATE_VERIFY_FAILED") },
                "\(gateway.process.output.suffix(1500))")
            #expect(try await !receiver.has(agent: "e2e-rw-mitm"))
        }
    }

    @Test("VictoriaMetrics behind its own TLS and basic auth receives the samples")
    func victoriaMetricsOverTLS() async throws {
        let certificates = try Certificates.make()
        let dir = try makeTemporaryDirectory()
        let port = try freeLoopbackPort()
        let victoria = try RunningProcess(
            executable: "/usr/bin/victoria-metrics",
            arguments: [
                "-storageDataPath=\(dir)/data", "-httpListenAddr=127.0.0.1:\(port)", "-tls",
                "-tlsCertFile=\(certificates.serverCertificate)", "-tlsKeyFile=\(certificates.serverKey)",
                "-httpAuth.username=vm-writer", "-httpAuth.password=vm-secret", "-search.latencyOffset=0s",
            ],
            name: "victoria-metrics")
        defer { victoria.signal(SIGKILL) }
        func query(_ path: String, password: String = "vm-secret") async throws -> Curl {
            try await Curl.run([
                "--cacert", certificates.ca, "-u", "vm-writer:\(password)", "https://localhost:\(port)\(path)",
            ])
        }
        #expect(await eventually(timeout: 30) { try await query("/health").status == 200 }, "\(victoria.output)")
        // The check that makes this test mean something: without the right password, no write.
        let unauthorized = try await Curl.run([
            "--cacert", certificates.ca, "-u", "vm-writer:wrong", "--data-binary", "x",
            "https://localhost:\(port)/api/v1/write",
        ])
        #expect(unauthorized.status == 401, "VictoriaMetrics must check the password: \(unauthorized.status)")
        let configuration = Self.section(
            url: "https://localhost:\(port)/api/v1/write",
            """
            tls-ca-file = \(certificates.ca)
            tls-server-name = localhost
            tenant-id = team-a
            basic-auth-username = vm-writer
            basic-auth-password-file = \(try passwordFile("vm-secret"))
            """)
        try await withGateway(extraConfiguration: configuration) { gateway in
            let agent = try AgentProcess.start(name: "e2e-rw-vm", gatewayPort: gateway.agentPort)
            defer { agent.process.signal(SIGKILL) }
            let arrived = await eventually(timeout: 45, every: .milliseconds(1000)) {
                try await query("/api/v1/export?match%5B%5D=process_ram_usage_percent").body.contains(
                    #""agent_number":"e2e-rw-vm""#)
            }
            #expect(arrived, "monitord: \(gateway.process.output.suffix(1500))\nvm: \(victoria.output.suffix(1500))")
        }
    }

    @Test("tenant-id is sent as X-Scope-OrgID, with the credentials, over TLS")
    func tenantHeaderIsSent() async throws {
        let certificates = try Certificates.make()
        let dir = try makeTemporaryDirectory()
        let port = try freeLoopbackPort()
        // Python's http.server behind its ssl module (OpenSSL): records the headers of each write.
        let script = """
            import http.server, ssl, sys
            class Recorder(http.server.BaseHTTPRequestHandler):
                def do_POST(self):
                    self.rfile.read(int(self.headers["Content-Length"]))
                    with open(sys.argv[2], "a") as log:
                        log.write("%s|%s|%s\\n" % (self.path, self.headers.get("X-Scope-OrgID"), self.headers.get("Authorization")))
                    self.send_response(204)
                    self.end_headers()
                def log_message(self, *args):
                    pass
            server = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Recorder)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(sys.argv[3], sys.argv[4])
            server.socket = context.wrap_socket(server.socket, server_side=True)
            server.serve_forever()
            """
        try script.write(toFile: dir + "/recorder.py", atomically: true, encoding: .utf8)
        let recorder = try RunningProcess(
            executable: "/usr/bin/env",
            arguments: [
                "python3", dir + "/recorder.py", "\(port)", dir + "/requests.log", certificates.serverCertificate,
                certificates.serverKey,
            ],
            name: "tenant-recorder")
        defer { recorder.signal(SIGKILL) }
        let tokenFile = try passwordFile("bearer-0123456789")
        let configuration = Self.section(
            url: "https://127.0.0.1:\(port)/api/v1/push",
            "tls-ca-file = \(certificates.ca)\ntenant-id = team-a\nbearer-token-file = \(tokenFile)\n")
        try await withGateway(extraConfiguration: configuration) { gateway in
            let agent = try AgentProcess.start(name: "e2e-rw-tenant", gatewayPort: gateway.agentPort)
            defer { agent.process.signal(SIGKILL) }
            let recorded = await eventually(timeout: 20) {
                FileManager.default.fileExists(atPath: dir + "/requests.log")
            }
            #expect(recorded, "\(gateway.process.output.suffix(1500))\n\(recorder.output)")
            let log = (try? String(contentsOfFile: dir + "/requests.log", encoding: .utf8)) ?? ""
            #expect(log.hasPrefix("/api/v1/push|team-a|Bearer bearer-0123456789\n"), "\(log)")
        }
    }
}
