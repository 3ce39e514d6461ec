import MonitorSystem

/// One `key = value` line of a configuration file, kept with its line so that a bad value can be reported there.
package struct ConfigurationEntry: Sendable, Equatable {
    package var key: String
    package var value: String
    package var line: Int
}

/// The sections and keys a daemon understands; anything else in its file is an error rather than ignored,
/// because a misspelt key that is silently ignored is a setting that silently does not apply.
package struct ConfigurationSchema: Sendable {
    package var sections: [(name: String, keys: [String])]

    package init(sections: [(name: String, keys: [String])]) { self.sections = sections }

    package func keys(of section: String) -> [String]? {
        sections.first { $0.name == section }?.keys
    }
}

/// The parsed content of a configuration file: for each known section present, its entries in file order.
package struct ConfigurationDocument: Sendable {
    package var entries: [String: [ConfigurationEntry]] = [:]

    package func entries(in section: String) -> [ConfigurationEntry] {
        entries[section] ?? []
    }
}

/// A deliberately small INI reader: the format is simple enough that a dependency would cost more than it
/// saves, and writing it here lets every error name the exact line and what was expected.
package enum INIParser {
    /// Files larger than this are refused before parsing: no legitimate configuration comes near it, and it
    /// bounds the memory an accidental `--config /dev/zero` or a huge log file can take.
    package static let maximumFileBytes = 1 << 20

    /// Validates raw file bytes (size, UTF-8) before parsing, reporting the first offending line.
    package static func decode(_ bytes: [UInt8], file: String) throws(ConfigurationError) -> String {
        guard bytes.count <= maximumFileBytes else {
            throw ConfigurationError(file: file, line: nil, message: "file is larger than 1 MiB; refusing to read it")
        }
        var text = ""
        text.reserveCapacity(bytes.count)
        for (index, line) in bytes.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
            guard let decoded = String(validating: line, as: UTF8.self) else {
                throw ConfigurationError(file: file, line: index + 1, message: "line is not valid UTF-8")
            }
            if index > 0 { text += "\n" }
            text += decoded
        }
        return text
    }

    package static func parse(
        _ text: String, file: String, schema: ConfigurationSchema
    ) throws(ConfigurationError) -> ConfigurationDocument {
        guard text.utf8.count <= maximumFileBytes else {
            throw ConfigurationError(file: file, line: nil, message: "file is larger than 1 MiB; refusing to read it")
        }
        var document = ConfigurationDocument()
        var current: (name: String, keys: [String])?
        var sectionLines: [String: Int] = [:]
        var keyLines: [String: Int] = [:]
        let lines = text.utf8.split(separator: 0x0A, omittingEmptySubsequences: false)
        for (index, rawLine) in lines.enumerated() {
            let lineNumber = index + 1
            func failure(_ message: String) -> ConfigurationError {
                ConfigurationError(file: file, line: lineNumber, message: message)
            }
            let line = trimmed(Substring(rawLine))
            if line.utf8.contains(0) {
                throw failure("line contains a NUL byte")
            }
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") {
                continue
            }
            if line.hasPrefix("[") {
                guard let close = line.firstIndex(of: "]") else {
                    throw failure("unterminated section header \(line.quoted): missing \"]\"")
                }
                let name = String(trimmed(line[line.index(after: line.startIndex)..<close]))
                let rest = trimmed(stripComment(line[line.index(after: close)...]))
                guard rest.isEmpty else {
                    throw failure("unexpected text \(rest.quoted) after section header [\(name)]")
                }
                guard !name.isEmpty else {
                    throw failure("empty section name \"[]\"")
                }
                guard let keys = schema.keys(of: name) else {
                    let valid = schema.sections.map { "[\($0.name)]" }.joined(separator: ", ")
                    throw failure("unknown section [\(name)] (valid sections: \(valid))")
                }
                if let first = sectionLines[name] {
                    throw failure("duplicate section [\(name)] (first at line \(first))")
                }
                sectionLines[name] = lineNumber
                current = (name, keys)
                continue
            }
            guard let equals = line.firstIndex(of: "=") else {
                throw failure(
                    "expected \"key = value\", \"[section]\" or a comment, found \(line.quoted)")
            }
            let key = String(trimmed(line[..<equals]))
            let value = String(trimmed(stripComment(line[line.index(after: equals)...])))
            guard !key.isEmpty else {
                throw failure("missing key before \"=\" in \(line.quoted)")
            }
            guard let section = current else {
                let hint = schema.sections.first.map { " (add [\($0.name)] above it)" } ?? ""
                throw failure("key \(key.quoted) is outside any section\(hint)")
            }
            guard section.keys.contains(key) else {
                throw failure(
                    "unknown key \(key.quoted) in section [\(section.name)] (valid keys: \(section.keys.joined(separator: ", ")))"
                )
            }
            let qualified = section.name + "\n" + key
            if let first = keyLines[qualified] {
                throw failure("duplicate key \(key.quoted) in section [\(section.name)] (first at line \(first))")
            }
            keyLines[qualified] = lineNumber
            document.entries[section.name, default: []].append(
                ConfigurationEntry(key: key, value: value, line: lineNumber))
        }
        return document
    }

    /// Removes a trailing comment: `#` or `;` preceded by white space, so that values such as
    /// `a#b` keep their character while `5s   # five seconds` loses its annotation.
    package static func stripComment(_ text: Substring) -> Substring {
        var previous: Unicode.Scalar = " "
        for index in text.unicodeScalars.indices {
            let scalar = text.unicodeScalars[index]
            if (scalar == "#" || scalar == ";") && (previous == " " || previous == "\t") {
                return text[..<index]
            }
            previous = scalar
        }
        return text
    }

    package static func trimmed(_ text: Substring) -> Substring {
        let isBlank: (Unicode.Scalar) -> Bool = {
            $0 == " " || $0 == "\t" || $0 == "\r" || $0 == "\u{0B}" || $0 == "\u{0C}"
        }
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !isBlank($0) }),
            let last = scalars.lastIndex(where: { !isBlank($0) })
        else { return text[text.endIndex...] }
        return Substring(scalars[first...last])
    }
}
