public import Logging

/// How a swift-log event becomes the fields of a native journal entry.
///
/// Kept free of I/O so that the mapping rules, which decide whether journald accepts the
/// entry at all (an invalid field name makes `sd_journal_sendv` drop the whole entry), are
/// unit-tested without a journal.
public enum JournalFields {
    /// journald's limit on field-name length.
    public static let maximumNameLength = 64

    /// Fields this handler sets itself; metadata must not add a second value to them.
    static let reservedNames: Set<String> = [
        "MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER", "CODE_FILE", "CODE_LINE", "CODE_FUNC", "ERROR",
    ]

    /// The syslog priority journald and `journalctl -p` filter on. swift-log has no "emerg",
    /// "alert" or "crit" distinction beyond `critical`, so `critical` is 2 (crit).
    public static func priority(for level: Logger.Level) -> Int {
        switch level {
        case .trace, .debug: 7
        case .info: 6
        case .notice: 5
        case .warning: 4
        case .error: 3
        case .critical: 2
        }
    }

    /// A journal field name for a metadata key, e.g. `agent` → `AGENT`, `remote-address` →
    /// `REMOTE_ADDRESS`.
    ///
    /// journald accepts only `A-Z`, `0-9` and `_`, not starting with `_` (reserved for trusted
    /// fields it adds itself) or a digit, at most 64 bytes. Letters are upper-cased, every other
    /// character becomes `_`; a name that would still be invalid, or that would collide with a
    /// field the handler sets (such as `MESSAGE`), gets the prefix `FIELD_`. The result is always
    /// valid, so a peer-chosen key can never make journald drop the entry.
    public static func fieldName(forMetadataKey key: String) -> String {
        var name = ""
        for scalar in key.unicodeScalars {
            switch scalar {
            case "A"..."Z", "0"..."9", "_": name.unicodeScalars.append(scalar)
            case "a"..."z": name.unicodeScalars.append(Unicode.Scalar(scalar.value - 32)!)
            default: name.append("_")
            }
        }
        let startsBadly = name.first.map { $0 == "_" || $0.isASCII && $0.isNumber } ?? true
        if startsBadly || reservedNames.contains(name) {
            name = "FIELD_" + name
        }
        return String(name.prefix(maximumNameLength))
    }

    /// The `NAME=value` fields of one entry, in the order `sd_journal_sendv` gets them.
    ///
    /// Values may contain newlines or any bytes: `sd_journal_sendv` switches to its
    /// length-prefixed encoding for such values.
    public static func entry(
        message: String,
        level: Logger.Level,
        identifier: String,
        file: String,
        line: UInt,
        function: String,
        metadata: Logger.Metadata,
        error: (any Error)? = nil
    ) -> [String] {
        var fields = [
            "MESSAGE=" + message,
            "PRIORITY=\(priority(for: level))",
            "SYSLOG_IDENTIFIER=" + identifier,
            "CODE_FILE=" + file,
            "CODE_LINE=\(line)",
            "CODE_FUNC=" + function,
        ]
        if let error { fields.append("ERROR=" + String(describing: error)) }
        for key in metadata.keys.sorted() {
            guard let value = metadata[key] else { continue }
            fields.append(fieldName(forMetadataKey: key) + "=" + value.description)
        }
        return fields
    }
}
