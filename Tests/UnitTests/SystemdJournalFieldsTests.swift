import Glibc
import Logging
import Testing

@testable import MonitorSystem

@Suite struct SystemdJournalFieldsTests {
    /// The syslog(3) constants are the independent source of truth for journald's PRIORITY.
    @Test func prioritiesAreSyslogLevels() {
        #expect(JournalFields.priority(for: .trace) == Int(LOG_DEBUG))
        #expect(JournalFields.priority(for: .debug) == Int(LOG_DEBUG))
        #expect(JournalFields.priority(for: .info) == Int(LOG_INFO))
        #expect(JournalFields.priority(for: .notice) == Int(LOG_NOTICE))
        #expect(JournalFields.priority(for: .warning) == Int(LOG_WARNING))
        #expect(JournalFields.priority(for: .error) == Int(LOG_ERR))
        #expect(JournalFields.priority(for: .critical) == Int(LOG_CRIT))
    }

    @Test(arguments: [
        ("agent", "AGENT"),
        ("AGENT", "AGENT"),
        ("remote-address", "REMOTE_ADDRESS"),
        ("agent.name", "AGENT_NAME"),
        ("file_line", "FILE_LINE"),
        ("agént", "AG_NT"),
        ("_internal", "FIELD__INTERNAL"),
        ("9lives", "FIELD_9LIVES"),
        ("-x", "FIELD__X"),
        ("", "FIELD_"),
        ("message", "FIELD_MESSAGE"),
        ("priority", "FIELD_PRIORITY"),
        ("code_line", "FIELD_CODE_LINE"),
        ("syslog-identifier", "FIELD_SYSLOG_IDENTIFIER"),
    ])
    func metadataKeysBecomeFieldNames(key: String, expected: String) {
        #expect(JournalFields.fieldName(forMetadataKey: key) == expected)
    }

    @Test func longKeysAreCutToTheJournalLimit() {
        let name = JournalFields.fieldName(forMetadataKey: String(repeating: "a", count: 100))
        #expect(name == String(repeating: "A", count: 64))
        let prefixed = JournalFields.fieldName(forMetadataKey: "1" + String(repeating: "b", count: 100))
        #expect(prefixed.count == 64)
        #expect(prefixed.hasPrefix("FIELD_1B"))
    }

    @Test(arguments: ["", "_", "__", "0", "a b", "ä", "🙂", "x=y", "\n", "MESSAGE", String(repeating: "é", count: 80)])
    func everyMappedNameIsValidForJournald(key: String) {
        #expect(Self.isValidJournalFieldName(JournalFields.fieldName(forMetadataKey: key)))
    }

    @Test func entryHasTheStandardFieldsThenSortedMetadata() {
        struct Refused: Error, CustomStringConvertible { var description: String { "refused: bad hello" } }
        let fields = JournalFields.entry(
            message: "agent connected", level: .notice, identifier: "monitord",
            file: "GatewayKit/Gateway/AgentConnectionHandler.swift",
            line: 42, function: "accept()", metadata: ["remote": "127.0.0.1:5555", "agent": "web-01"],
            error: Refused())
        #expect(
            fields == [
                "MESSAGE=agent connected",
                "PRIORITY=\(LOG_NOTICE)",
                "SYSLOG_IDENTIFIER=monitord",
                "CODE_FILE=GatewayKit/Gateway/AgentConnectionHandler.swift",
                "CODE_LINE=42",
                "CODE_FUNC=accept()",
                "ERROR=refused: bad hello",
                "AGENT=web-01",
                "REMOTE=127.0.0.1:5555",
            ])
    }

    @Test func newlinesAndStructuredValuesSurvive() {
        let fields = JournalFields.entry(
            message: "first\nsecond", level: .error, identifier: "monitor-agent", file: "f", line: 1, function: "g",
            metadata: ["servers": ["a:1", "b:2"], "message": "clash"])
        #expect(fields.first == "MESSAGE=first\nsecond")
        #expect(fields.contains("FIELD_MESSAGE=clash"))
        #expect(fields.contains("SERVERS=" + Logger.MetadataValue.array(["a:1", "b:2"]).description))
        #expect(fields.filter { $0.hasPrefix("MESSAGE=") }.count == 1)
    }

    /// journald's own rule (`journal_field_valid` in systemd), written out independently.
    private static func isValidJournalFieldName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard let first = bytes.first, bytes.count <= 64 else { return false }
        if first == UInt8(ascii: "_") || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) { return false }
        return bytes.allSatisfy { byte in
            (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
                || byte == UInt8(ascii: "_")
        }
    }
}
