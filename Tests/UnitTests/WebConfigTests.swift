import Foundation
import MonitorConfig
import Synchronization
import TestSupport
import Testing

@testable import MonitorWebConfig

/// The web config file (exporter-toolkit format) read hostilely: every refusal names file and line.
@Suite struct WebConfigTests {
    /// Made by pyca/bcrypt 5.0 (an implementation other than the one monitord uses).
    static let scrapeSecretHash = "$2b$05$HhlR9nhbm34FYc.gTlKhRO3qWYuy6/T0gz6BKyi9N3CimsPNnd29K"
    static let otherSecretHash = "$2b$05$OBxtApzsLbyRvfc23aFWgu81ruMh8zVyaWAIarVs7b.r3UEFsSAU6"

    func failure(_ text: String) -> String? {
        do {
            _ = try WebConfig.parse(text, file: "web.yml")
            return nil
        } catch {
            return error.description
        }
    }

    @Test func malformedYAMLNamesFileAndLine() {
        let message = failure("basic_auth_users:\n  prometheus: \"unclosed\n  other: x\n")
        #expect(message?.hasPrefix("web.yml:") == true, "\(message ?? "accepted")")
        #expect(message?.contains("not valid YAML") == true)
    }

    @Test func unknownKeysAreRefusedWithTheirLine() {
        #expect(
            failure("tls_server_config:\n  cert_fil: /x\n")?.hasPrefix(
                "web.yml:2: unknown key cert_fil in tls_server_config")
                == true)
        #expect(
            failure("basic_auth_users: {}\nbasic_auth_user:\n  a: b\n")?.hasPrefix("web.yml:2: unknown key") == true)
        #expect(failure("http_server_config:\n  headers:\n    X-Powered-By: me\n")?.hasPrefix("web.yml:3:") == true)
    }

    @Test func aUserGivenTwiceIsRefusedWithTheLineOfTheRepeat() {
        let hash = Self.scrapeSecretHash
        let message = failure("basic_auth_users:\n  u: \(hash)\n  v: \(hash)\n  u: \(hash)\n")
        #expect(message?.hasPrefix("web.yml:4: ") == true, "\(message ?? "accepted")")
        #expect(message?.contains("u") == true && message?.contains("twice") == true, "\(message ?? "accepted")")
        // Nested too: a header given twice names its line.
        let header = failure("http_server_config:\n  headers:\n    X-A: b\n    X-A: c\n")
        #expect(header?.hasPrefix("web.yml:4: ") == true, "\(header ?? "accepted")")
    }

    @Test func wrongHashFormatsAreRefused() {
        let apr1 = failure("basic_auth_users:\n  prometheus: $apr1$abc$0123456789012345678901\n")
        #expect(
            apr1?.hasPrefix("web.yml:2: user prometheus: password hash is not a bcrypt hash") == true, "\(apr1 ?? "")")
        let plain = failure("basic_auth_users:\n  prometheus: hunter2\n")
        #expect(plain?.contains("is not a bcrypt hash") == true)
        let badAlphabet = failure(
            "basic_auth_users:\n  p: \"$2b$05$HhlR9nhbm34FYc.gTlKhRO3qWYuy6/T0gz6BKyi9N3CimsPNnd29!\"\n")
        #expect(badAlphabet?.contains("alphabet") == true)
        #expect(failure("basic_auth_users:\n  \"a:b\": \(Self.scrapeSecretHash)\n")?.contains("without \":\"") == true)
        #expect(failure("basic_auth_users:\n  p:\n    - x\n")?.contains("single value") == true)
    }

    /// Refused before any hashing: a cost-31 hash would take days, so the time limit is only a hang guard.
    @Test(.timeLimit(.minutes(1))) func aCostAboveTheCapIsRefusedAtOnce() {
        let message = failure("basic_auth_users:\n  p: $2b$31$HhlR9nhbm34FYc.gTlKhRO3qWYuy6/T0gz6BKyi9N3CimsPNnd29K\n")
        #expect(
            message?.hasPrefix("web.yml:2: user p: password hash has bcrypt cost 31, above monitord's limit of 14")
                == true)
        #expect(
            failure("basic_auth_users:\n  p: $2b$03$HhlR9nhbm34FYc.gTlKhRO3qWYuy6/T0gz6BKyi9N3CimsPNnd29K\n") != nil)
    }

    @Test func whatCannotBeHonouredIsRefused() {
        #expect(
            failure("tls_server_config:\n  cipher_suites: [TLS_AES_128_GCM_SHA256]\n")?.hasPrefix(
                "web.yml:2: cipher_suites is not supported") == true)
        #expect(failure("tls_server_config:\n  client_allowed_sans: [a]\n")?.contains("not supported") == true)
        #expect(
            failure("http_server_config:\n  http2: true\n")?.hasPrefix("web.yml:2: http2: true cannot be honoured")
                == true)
        #expect(
            failure("rate_limit:\n  interval: 1s\n  burst: 5\n")?.hasPrefix("web.yml:1: rate_limit is not supported")
                == true)
        #expect(failure("http_server_config:\n  http2: false\n") == nil)
    }

    @Test func badTLSValuesAreRefused() {
        #expect(failure("tls_server_config:\n  key_file: /k\n")?.contains("needs cert_file") == true)
        #expect(
            failure("tls_server_config:\n  cert_file: /nonexistent/c.pem\n  key_file: /nonexistent/k.pem\n")?
                .hasPrefix("web.yml:2: cert_file /nonexistent/c.pem: cannot read") == true)
        #expect(
            failure("tls_server_config:\n  cert_file: /c\n  key_file: /k\n  min_version: TLS14\n")?
                .hasPrefix("web.yml:4: min_version \"TLS14\" is not one of TLS10, TLS11, TLS12, TLS13") == true)
        #expect(
            failure("tls_server_config:\n  cert_file: /c\n  key_file: /k\n  client_auth_type: Sometimes\n")?
                .hasPrefix("web.yml:4: client_auth_type \"Sometimes\" is not one of") == true)
        #expect(
            failure(
                "tls_server_config:\n  cert_file: /c\n  key_file: /k\n  client_auth_type: RequireAndVerifyClientCert\n")?
                .contains("needs client_ca_file") == true)
        #expect(
            failure("tls_server_config:\n  cert_file: /c\n  key_file: /k\n  client_ca_file: /ca\n")?
                .contains("does not verify client certificates") == true)
    }

    @Test func aCertificateThatIsNotPEMIsRefused() throws {
        let path = temporaryPath("web-config-test") + ".pem"
        try "not a certificate\n".write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let message = failure("tls_server_config:\n  cert_file: \(path)\n  key_file: \(path)\n")
        #expect(
            message?.hasPrefix("web.yml:2: cert_file \(path): cannot load PEM certificates") == true, "\(message ?? "")"
        )
    }

    @Test func aliasesAreRefused() {
        #expect(
            failure("basic_auth_users:\n  a: &h \(Self.scrapeSecretHash)\n  b: *h\n")?.hasPrefix(
                "web.yml:2: YAML anchors and aliases") == true)
        // A billion laughs: refused before Yams expands (or hashes) anything.
        var bomb = "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
        for level in 1...9 {
            let previous = level == 1 ? "a" : "l\(level - 1)"
            bomb +=
                "l\(level): &l\(level) [" + Array(repeating: "*" + previous, count: 9).joined(separator: ",") + "]\n"
        }
        #expect(failure(bomb)?.hasPrefix("web.yml:1: YAML anchors") == true)
        // Quoted or in a comment, & and * are text.
        #expect(
            failure("http_server_config:\n  headers:\n    Content-Security-Policy: \"default-src *\"  # & *x\n") == nil)
    }

    @Test func emptyFileAndEmptySectionsMeanNothingRequired() throws {
        #expect(try WebConfig.parse("", file: "w").tls == nil)
        #expect(try WebConfig.parse("tls_server_config:\nbasic_auth_users:\n", file: "w").users.isEmpty)
    }

    // MARK: bcrypt and the authenticator

    @Test func bcryptVectorsFromAnotherImplementation() throws {
        let hash = try BcryptHash(Self.scrapeSecretHash)
        #expect(Bcrypt.matches(password: Array("scrape-secret".utf8), hash: hash))
        #expect(!Bcrypt.matches(password: Array("scrape-secreT".utf8), hash: hash))
        #expect(!Bcrypt.matches(password: Array("scrape-secret\0x".utf8), hash: hash))
        #expect(
            !Bcrypt.matches(password: Array("scrape-secret".utf8) + [UInt8](repeating: 0x61, count: 80), hash: hash))
    }

    /// The address of the client in tests that do not share checks among addresses.
    static let client = "192.0.2.1"

    static func basic(_ user: String, _ password: String) -> String {
        "Basic " + Data("\(user):\(password)".utf8).base64EncodedString()
    }

    @Test func manyDistinctWrongPasswordsLeaveTheCacheBounded() async throws {
        let checks = Atomic<Int>(0)
        let authenticator = BasicAuthenticator(users: ["prometheus": try BcryptHash(Self.scrapeSecretHash)]) {
            password, hash in
            checks.add(1, ordering: .relaxed)
            return Bcrypt.matches(password: password, hash: hash)
        }
        for attempt in 0..<200 {
            let verdict = await authenticator.verdict(
                authorization: Self.basic("prometheus", "wrong-\(attempt)"), from: Self.client)
            #expect(verdict == .denied("wrong password"))
        }
        #expect(authenticator.cachedUsers == 0)
        #expect(
            await authenticator.verdict(authorization: Self.basic("prometheus", "scrape-secret"), from: Self.client)
                == .allowed)
        let afterFirst = checks.load(ordering: .relaxed)
        for _ in 0..<50 {
            #expect(
                await authenticator.verdict(authorization: Self.basic("prometheus", "scrape-secret"), from: Self.client)
                    == .allowed)
        }
        #expect(checks.load(ordering: .relaxed) == afterFirst, "a cached password must not run bcrypt again")
        #expect(authenticator.cachedUsers == 1)
        // A wrong password after a right one is still wrong, and does not evict the right one.
        #expect(
            await authenticator.verdict(authorization: Self.basic("prometheus", "scrape-secre"), from: Self.client)
                != .allowed)
        #expect(
            await authenticator.verdict(authorization: Self.basic("prometheus", "scrape-secret"), from: Self.client)
                == .allowed)
    }

    @Test func hostileHeadersAreDeniedWithoutBcrypt() async throws {
        let checks = Atomic<Int>(0)
        let authenticator = BasicAuthenticator(users: ["p": try BcryptHash(Self.scrapeSecretHash)]) { _, _ in
            checks.add(1, ordering: .relaxed)
            return false
        }
        #expect(await authenticator.verdict(authorization: nil, from: Self.client) == .denied("no credentials"))
        let huge = "Basic " + String(repeating: "A", count: 1 << 20)
        #expect(
            await authenticator.verdict(authorization: huge, from: Self.client)
                == .denied("Authorization header too long"))
        #expect(await authenticator.verdict(authorization: "Bearer abc", from: Self.client) != .allowed)
        #expect(await authenticator.verdict(authorization: "Basic !!!not-base64", from: Self.client) != .allowed)
        #expect(
            await authenticator.verdict(
                authorization: "Basic " + Data("nocolon".utf8).base64EncodedString(), from: Self.client)
                != .allowed)
        #expect(checks.load(ordering: .relaxed) == 0)
    }

    @Test func concurrentChecksAreBoundedAndTheRestAreBusy() async throws {
        let running = Atomic<Int>(0)
        let peak = Atomic<Int>(0)
        let authenticator = BasicAuthenticator(users: ["p": try BcryptHash(Self.scrapeSecretHash)]) { _, _ in
            let now = running.add(1, ordering: .relaxed).newValue
            peak.max(now, ordering: .relaxed)
            usleep(200_000)
            running.subtract(1, ordering: .relaxed)
            return false
        }
        let verdicts = await withTaskGroup(of: BasicAuthenticator.Verdict.self) { group in
            for attempt in 0..<10 {
                group.addTask {
                    await authenticator.verdict(authorization: Self.basic("p", "guess-\(attempt)"), from: Self.client)
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(peak.load(ordering: .relaxed) <= BasicAuthenticator.maximumConcurrentChecks)
        #expect(verdicts.contains(.busy))
        #expect(!verdicts.contains(.allowed))
    }

    /// Audit 5, finding 02: eight connections sending wrong passwords held both bcrypt slots, and a
    /// scraper with the right password, at another address, got 503 on almost every scrape.
    @Test func aFloodFromOneAddressLeavesAScraperElsewhereItsTurn() async throws {
        let attackerRunning = Atomic<Int>(0)
        let authenticator = BasicAuthenticator(users: ["p": try BcryptHash(Self.scrapeSecretHash)]) { password, _ in
            let attacker = password != Array("scrape-secret".utf8)
            if attacker { attackerRunning.add(1, ordering: .relaxed) }
            usleep(100_000)
            if attacker { attackerRunning.subtract(1, ordering: .relaxed) }
            return !attacker
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for attempt in 0..<8 {
                group.addTask {
                    // Each flooding connection tries again as soon as it is answered.
                    for round in 0..<6 {
                        _ = await authenticator.verdict(
                            authorization: Self.basic("p", "guess-\(attempt)-\(round)"), from: "198.51.100.7")
                    }
                }
            }
            // The flood holds what it can before the scraper comes.
            let deadline = ContinuousClock.now + .seconds(5)
            while attackerRunning.load(ordering: .relaxed) == 0 && ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(5))
            }
            #expect(
                await authenticator.verdict(authorization: Self.basic("p", "scrape-secret"), from: "203.0.113.9")
                    == .allowed)
            try await group.waitForAll()
        }
        #expect(attackerRunning.load(ordering: .relaxed) == 0)
    }

    /// Audit 6, 03: nine addresses with two connections each filled the two slots and the line of
    /// sixteen with wrong passwords, and the scraper (at an address that never failed) got 503 on
    /// every scrape after a restart. It now goes ahead of the suspects, in a suspect's place.
    @Test func suspectsFillingTheLineDoNotKeepOutAClientThatNeverFailed() async throws {
        let floodEnds = ContinuousClock.now + .seconds(5)
        // Checks started so far: how many went ahead of the scraper's tells where it stood in line.
        let started = Atomic<Int>(0)
        let authenticator = BasicAuthenticator(users: ["p": try BcryptHash(Self.scrapeSecretHash)]) { password, _ in
            started.add(1, ordering: .relaxed)
            usleep(50_000)
            return password == Array("scrape-secret".utf8)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for address in 0..<9 {
                for connection in 0..<2 {
                    group.addTask {
                        var round = 0
                        while ContinuousClock.now < floodEnds {
                            round += 1
                            let verdict = await authenticator.verdict(
                                authorization: Self.basic("p", "guess-\(connection)-\(round)"),
                                from: "10.0.9.\(address)")
                            if verdict == .busy { try await Task.sleep(for: .milliseconds(5)) }
                        }
                    }
                }
            }
            // Every flooding address has failed at least once, and the line is full.
            try await Task.sleep(for: .seconds(2))
            for attempt in 0..<5 {
                let before = started.load(ordering: .relaxed)
                let verdict = await authenticator.verdict(
                    authorization: Self.basic("p", "scrape-secret"), from: "203.0.113.\(attempt)")
                #expect(verdict == .allowed, "scrape \(attempt)")
                // Its own check, and at most the one that freed a slot for it: never the sixteen
                // suspects in line before it.
                let ahead = started.load(ordering: .relaxed) - before
                #expect(ahead <= BasicAuthenticator.maximumConcurrentChecks + 1, "\(ahead) checks started meanwhile")
            }
            try await group.waitForAll()
        }
    }

    @Test func anIPv6ClientCountsAsItsSlash64() {
        #expect(PasswordCheckQueue.group("2001:db8:1:2:aaaa::1") == PasswordCheckQueue.group("2001:db8:1:2:bbbb::9"))
        #expect(PasswordCheckQueue.group("2001:db8:1:2::1") != PasswordCheckQueue.group("2001:db8:1:3::1"))
        #expect(PasswordCheckQueue.group("192.0.2.7") == "192.0.2.7")
        #expect(PasswordCheckQueue.group("not an address") == "not an address")
    }

    @Test func oneAddressHoldsAtMostItsPlacesAndTheLineIsBounded() async throws {
        let running = Atomic<Int>(0)
        let peak = Atomic<Int>(0)
        let authenticator = BasicAuthenticator(users: ["p": try BcryptHash(Self.scrapeSecretHash)]) { _, _ in
            peak.max(running.add(1, ordering: .relaxed).newValue, ordering: .relaxed)
            usleep(50_000)
            running.subtract(1, ordering: .relaxed)
            return false
        }
        // 5 requests from each of 30 addresses at once: each address gets at most its places, and
        // beyond the slots at most the line's length wait; the rest are told to come back.
        let verdicts = await withTaskGroup(of: BasicAuthenticator.Verdict.self) { group in
            for address in 0..<30 {
                for attempt in 0..<5 {
                    group.addTask {
                        await authenticator.verdict(
                            authorization: Self.basic("p", "guess-\(attempt)"), from: "10.0.0.\(address)")
                    }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        let checked = verdicts.filter { $0 != .busy }.count
        #expect(peak.load(ordering: .relaxed) <= BasicAuthenticator.maximumConcurrentChecks)
        #expect(checked >= BasicAuthenticator.maximumConcurrentChecks)
        #expect(
            checked <= BasicAuthenticator.maximumConcurrentChecks + BasicAuthenticator.maximumWaitingChecks,
            "\(checked) checks ran for 150 requests")
        #expect(!verdicts.contains(.allowed))
    }

    /// A reload reads the file again; the scraper's password must not cost bcrypt again, or a
    /// flood of wrong passwords locks it out after every `systemctl reload` (audit 5, finding 02).
    @Test func aVerifiedPasswordOutlivesAReadingOfTheFileUnlessItsHashChanged() async throws {
        let checks = Atomic<Int>(0)
        let counting: @Sendable ([UInt8], BcryptHash) -> Bool = { password, hash in
            checks.add(1, ordering: .relaxed)
            return Bcrypt.matches(password: password, hash: hash)
        }
        let verified = VerifiedPasswords()
        let hash = try BcryptHash(Self.scrapeSecretHash)
        let first = BasicAuthenticator(users: ["p": hash], verified: verified, check: counting)
        #expect(await first.verdict(authorization: Self.basic("p", "scrape-secret"), from: Self.client) == .allowed)
        #expect(checks.load(ordering: .relaxed) == 1)

        let reloaded = BasicAuthenticator(users: ["p": hash], verified: verified, check: counting)
        #expect(await reloaded.verdict(authorization: Self.basic("p", "scrape-secret"), from: Self.client) == .allowed)
        #expect(checks.load(ordering: .relaxed) == 1, "the reload kept the verified password")

        // The password changed in the file: the remembered one is forgotten, and checked again.
        let other = try BcryptHash(String(Self.scrapeSecretHash.dropLast()) + "x")
        let changed = BasicAuthenticator(users: ["p": other], verified: verified, check: counting)
        #expect(verified.count == 0)
        #expect(await changed.verdict(authorization: Self.basic("p", "scrape-secret"), from: Self.client) != .allowed)
        #expect(checks.load(ordering: .relaxed) == 2)
    }

    @Test func constantTimeEqualityIsEquality() {
        #expect(ConstantTime.equal([1, 2, 3], [1, 2, 3]))
        #expect(!ConstantTime.equal([1, 2, 3], [1, 2, 4]))
        #expect(!ConstantTime.equal([1, 2, 3], [1, 2, 3, 0]))
        #expect(!ConstantTime.equal([], [0]))
        #expect(ConstantTime.equal([], []))
    }
}
