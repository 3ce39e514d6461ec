import Testing

@testable import GatewayConfig
@testable import MonitorConfig

/// Every structural error of the INI reader, with its exact line and message.
@Suite struct ConfigParserTests {
    func gatewayError(_ text: String) -> ConfigurationError? {
        do {
            _ = try GatewayConfiguration.parse(text, file: "m.conf")
            return nil
        } catch {
            return error
        }
    }

    func agentError(_ text: String) -> ConfigurationError? {
        do {
            _ = try AgentConfiguration.parse(text, file: "a.conf")
            return nil
        } catch {
            return error
        }
    }

    @Test func unknownSectionNamesTheValidOnes() {
        let error = gatewayError("# comment\n\n[monitor]\nlisten = 0.0.0.0:1\n")
        #expect(
            error
                == ConfigurationError(
                    file: "m.conf", line: 3,
                    message: "unknown section [monitor] (valid sections: [monitord], [remote-write])"))
        #expect(
            error?.description == "m.conf:3: unknown section [monitor] (valid sections: [monitord], [remote-write])")
    }

    @Test func agentSectionInGatewayFileIsUnknown() {
        #expect(gatewayError("[agent]\n")?.line == 1)
        #expect(
            agentError("\n[monitord]\n")?.description
                == "a.conf:2: unknown section [monitord] (valid sections: [agent])")
    }

    @Test func unknownKeyNamesSectionAndValidKeys() {
        let error = agentError("[agent]\nserver = 127.0.0.1:5578\nintervall = 5s\n")
        #expect(
            error?.description
                == "a.conf:3: unknown key \"intervall\" in section [agent] (valid keys: server, failback-after, name, interval, cpu-window, buffer-samples, token, tls, tls-ca-file, tls-server-name, tls-certificate, tls-key, log-level, spool-directory, spool-max-size, spool-fsync)"
        )
    }

    /// A certificate without its key, or a key without its certificate, is refused at the line of
    /// the one set, in the same words in each of the three sections that have the pair.
    @Test func tlsCertificateAndKeyGoTogether() {
        let message = "tls-certificate and tls-key go together: set both, or neither"
        #expect(agentError("[agent]\ntls = yes\ntls-key = /k.pem\n")?.description == "a.conf:3: \(message)")
        #expect(gatewayError("[monitord]\n\ntls-certificate = /c.pem\n")?.description == "m.conf:3: \(message)")
        #expect(
            gatewayError("[monitord]\n[remote-write]\nurl = https://h/\ntls-key = /k.pem\n")?.description
                == "m.conf:4: \(message)")
        #expect(agentError("[agent]\ntls = yes\ntls-certificate = /c.pem\ntls-key = /k.pem\n") == nil)
        #expect(gatewayError("[monitord]\ntls-certificate = /c.pem\ntls-key = /k.pem\n") == nil)
    }

    @Test func keyOutsideAnySection() {
        #expect(
            gatewayError("; leading comment\nlisten = 0.0.0.0:5578\n[monitord]\n")?.description
                == "m.conf:2: key \"listen\" is outside any section (add [monitord] above it)")
    }

    @Test func duplicateKeyPointsAtBothLines() {
        #expect(
            gatewayError("[monitord]\nlisten = 0.0.0.0:1\n\nlisten = 0.0.0.0:2\n")?.description
                == "m.conf:4: duplicate key \"listen\" in section [monitord] (first at line 2)")
    }

    @Test func duplicateSectionPointsAtBothLines() {
        #expect(
            agentError("[agent]\nname = a\n[agent]\n")?.description
                == "a.conf:3: duplicate section [agent] (first at line 1)")
    }

    @Test func lineThatIsNeitherKeyNorSection() {
        #expect(
            gatewayError("[monitord]\n\ngarbage\n")?.description
                == "m.conf:3: expected \"key = value\", \"[section]\" or a comment, found \"garbage\"")
    }

    @Test func unterminatedSectionHeader() {
        #expect(
            agentError("# x\n[agent\n")?.description
                == "a.conf:2: unterminated section header \"[agent\": missing \"]\"")
    }

    @Test func textAfterSectionHeader() {
        #expect(
            agentError("[agent] x\n")?.description == "a.conf:1: unexpected text \"x\" after section header [agent]")
    }

    @Test func emptySectionName() {
        #expect(agentError("\n\n[ ]\n")?.description == "a.conf:3: empty section name \"[]\"")
    }

    @Test func missingKeyBeforeEquals() {
        #expect(agentError("[agent]\n= 5s\n")?.description == "a.conf:2: missing key before \"=\" in \"= 5s\"")
    }

    @Test func nulByteIsRefusedWithItsLine() {
        #expect(agentError("[agent]\nname = a\u{0}b\n")?.description == "a.conf:2: line contains a NUL byte")
    }

    @Test func invalidUTF8IsRefusedWithItsLine() {
        let bytes: [UInt8] = Array("[agent]\n# ok\nname = ".utf8) + [0xC3, 0x28] + Array("\n".utf8)
        #expect(throws: ConfigurationError(file: "a.conf", line: 3, message: "line is not valid UTF-8")) {
            try INIParser.decode(bytes, file: "a.conf")
        }
    }

    @Test func validUTF8DecodesToTheSameText() throws {
        let text = "# été\n[agent]\r\nname = x\n"
        #expect(try INIParser.decode(Array(text.utf8), file: "a.conf") == text)
    }

    @Test func oversizedTextIsRefusedWithoutLine() {
        let text = "[agent]\n" + String(repeating: "#", count: INIParser.maximumFileBytes)
        #expect(agentError(text)?.description == "a.conf: file is larger than 1 MiB; refusing to read it")
        #expect(
            throws: ConfigurationError(
                file: "a.conf", line: nil, message: "file is larger than 1 MiB; refusing to read it")
        ) {
            try INIParser.decode(Array(text.utf8), file: "a.conf")
        }
    }

    @Test func commentsBlankLinesAndWhiteSpace() throws {
        let text =
            "# hash comment\n; semicolon comment\n   \t\n  [ agent ]   ; after header\n"
            + "\tname = host-1.example   # trailing comment\n"
            + "interval=2s ;comment\n"
            + "cpu-window = 1s\t;tab before comment\r\n"
        let configuration = try AgentConfiguration.parse(text, file: "a.conf")
        #expect(configuration.name == "host-1.example")
        #expect(configuration.interval == .seconds(2))
        #expect(configuration.cpuWindow == .seconds(1))
    }

    @Test func commentMarkerWithoutWhiteSpaceBeforeItIsPartOfTheValue() {
        #expect(
            agentError("[agent]\ninterval=2s;comment\n")?.description
                == "a.conf:2: interval: \"2s;comment\" is not a duration (use a unit: 500ms, 5s, 2m, 1h)")
    }

    @Test func hashInsideValueIsKept() {
        // Without white space before it, `#` is part of the value; the name check then rejects it.
        #expect(
            agentError("[agent]\nname = a#b\n")?.description.hasPrefix("a.conf:2: name: \"a#b\" may only contain")
                == true)
    }

    @Test func filesWithOnlyCommentsGiveDefaults() throws {
        let text = "# nothing here\n; nor here\n\n"
        #expect(try GatewayConfiguration.parse(text, file: "m.conf") == GatewayConfiguration())
        #expect(try AgentConfiguration.parse(text, file: "a.conf") == AgentConfiguration())
        #expect(try AgentConfiguration.parse("", file: "a.conf") == AgentConfiguration())
        #expect(try GatewayConfiguration.parse("[monitord]\n", file: "m.conf") == GatewayConfiguration())
    }

    @Test func errorMessagesQuoteControlCharactersAndCapLength() {
        let long = String(repeating: "x", count: 200)
        let error = gatewayError("[monitord]\n\u{1}\(long)\n")
        #expect(
            error?.message
                == "expected \"key = value\", \"[section]\" or a comment, found \"\\u{1}\(String(repeating: "x", count: 59))...\""
        )
    }
}
