import MonitorConfig
import MonitorSystem
import Yams

/// Typed access to a composed YAML node tree, every error a `file:line` ``ConfigurationError`` like the
/// INI files' (Yams keeps each node's line).
struct YAMLDocument {
    let file: String

    /// Composes `text`; an empty document is an empty mapping. Anchors and aliases are refused before
    /// Yams sees the text: the format needs neither, and Yams keeps no anchor on its nodes, while an
    /// alias-expansion bomb would make its duplicate-key check (and any walk of the tree) exponential.
    func root(_ text: String) throws(ConfigurationError) -> Node {
        if let line = Self.lineWithAnchorOrAlias(text) {
            throw ConfigurationError(
                file: file, line: line,
                message: "YAML anchors and aliases (a value starting with & or *) are not supported here")
        }
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw failure(error)
        } catch {
            throw ConfigurationError(file: file, line: nil, message: "not valid YAML: \(error)")
        }
        return node ?? .mapping(Node.Mapping([]))
    }

    /// The first line with a token starting with `&` or `*` outside quotes and comments (a bcrypt
    /// hash, a path or a header value never starts with either unquoted).
    static func lineWithAnchorOrAlias(_ text: String) -> Int? {
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var quote: Character?
            var previous: Character = " "
            for character in line {
                if let open = quote {
                    if character == open { quote = nil }
                } else if character == "#" && (previous == " " || previous == "\t") {
                    break
                } else if character == "\"" || character == "'" {
                    quote = character
                } else if character == "&" || character == "*", " \t[{,:?-".contains(previous) {
                    return index + 1
                }
                previous = character
            }
        }
        return nil
    }

    private func failure(_ error: YamlError) -> ConfigurationError {
        switch error {
        case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
            .composer(let context, let problem, let mark, _):
            let where_ = context.map { " \($0.text)" } ?? ""
            return ConfigurationError(file: file, line: mark.line, message: "not valid YAML: \(problem)\(where_)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let line = duplicates.first.flatMap { Self.lineOfRepeat(of: $0, after: context.mark, in: context.text) }
            return ConfigurationError(
                file: file, line: line ?? context.mark.line,
                message: "key given twice: \(duplicates.joined(separator: ", "))")
        default:
            return ConfigurationError(file: file, line: nil, message: "not valid YAML: \(error)")
        }
    }

    /// The line where `key`, first written at `first` (Yams reports only that one), is written again in the
    /// same mapping: the next line at the same column starting with the key and a colon. Nil if not found
    /// (a quoted or flow-style key), and the caller names the first line instead.
    static func lineOfRepeat(of key: String, after first: Mark, in text: String) -> Int? {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let column = first.column - 1
        guard first.line >= 1, column >= 0 else { return nil }
        for index in first.line..<lines.count {
            let line = lines[index]
            guard line.count > column else { continue }
            let start = line.index(line.startIndex, offsetBy: column)
            guard line[..<start].allSatisfy({ $0 == " " }) else { continue }
            let rest = line[start...]
            if rest.hasPrefix(key), rest.dropFirst(key.count).drop(while: { $0 == " " }).hasPrefix(":") {
                return index + 1
            }
        }
        return nil
    }

    func error(_ node: Node?, _ message: String) -> ConfigurationError {
        ConfigurationError(file: file, line: node?.mark?.line, message: message)
    }

    /// A mapping's entries in file order, with string keys checked against `allowed`. A null value
    /// (`key:` with nothing after it) is an empty mapping.
    func mapping(_ node: Node, _ what: String, allowed: [String]? = nil) throws(ConfigurationError)
        -> [(key: String, keyNode: Node, value: Node)]
    {
        if isNull(node) { return [] }
        guard case .mapping(let mapping) = node else {
            throw error(node, "\(what) must be a mapping (key: value lines)")
        }
        var entries: [(key: String, keyNode: Node, value: Node)] = []
        for (keyNode, value) in mapping {
            guard case .scalar(let scalar) = keyNode else {
                throw error(keyNode, "\(what): keys must be plain strings")
            }
            let key = scalar.string
            if let allowed, !allowed.contains(key) {
                throw error(
                    keyNode, "unknown key \(key) in \(what) (known: \(allowed.joined(separator: ", ")))")
            }
            guard !entries.contains(where: { $0.key == key }) else { throw error(keyNode, "\(key) is given twice") }
            entries.append((key, keyNode, value))
        }
        return entries
    }

    func isNull(_ node: Node) -> Bool {
        guard case .scalar(let scalar) = node else { return false }
        return scalar.style == .plain && ["", "~", "null", "Null", "NULL"].contains(scalar.string)
    }

    /// A scalar as text; null is the empty string (the toolkit's "unset").
    func string(_ node: Node, key: String) throws(ConfigurationError) -> String {
        if isNull(node) { return "" }
        guard case .scalar(let scalar) = node else { throw error(node, "\(key) must be a single value") }
        return scalar.string
    }

    func boolean(_ node: Node, key: String) throws(ConfigurationError) -> Bool {
        switch try string(node, key: key) {
        case "true", "True", "TRUE": return true
        case "false", "False", "FALSE": return false
        case let other: throw error(node, "\(key) must be true or false, not \(other.quoted)")
        }
    }

    /// A sequence of scalars; null is empty.
    func strings(_ node: Node, key: String) throws(ConfigurationError) -> [String] {
        if isNull(node) { return [] }
        guard case .sequence(let sequence) = node else { throw error(node, "\(key) must be a list") }
        var result: [String] = []
        for item in sequence { result.append(try string(item, key: key)) }
        return result
    }
}
