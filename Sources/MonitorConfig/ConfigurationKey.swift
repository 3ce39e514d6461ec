import MonitorModel

/// One key of a configuration section: its name, how its value is read into the configuration, and how
/// `rendered()` writes it back.
///
/// Each configuration lists its keys once, in a table of these, and that table is the section's schema
/// (the keys the INI parser accepts, in the order its error message lists them), its parse and its
/// rendering: a key added, renamed or retyped in one place is so everywhere.
package struct ConfigurationKey<Configuration>: Sendable {
    package typealias Reader =
        @Sendable (inout Configuration, ConfigurationEntry, ConfigurationValues) throws(ConfigurationError) -> Void

    package let name: String
    /// Sets the configuration's field from the entry, or throws the entry's error.
    package let read: Reader
    /// The key's line in `rendered()`: `name = value`, or `name =` for an empty value; `nil` leaves
    /// the key out (an optional setting that is not set).
    package let line: @Sendable (Configuration) -> String?

    /// A key whose rendered line is the usual `name = value`.
    package init(_ name: String, read: @escaping Reader, value: @escaping @Sendable (Configuration) -> String) {
        self.name = name
        self.read = read
        self.line = { configuration in
            let text = value(configuration)
            return text.isEmpty ? "\(name) =" : "\(name) = \(text)"
        }
    }

    /// A key that renders its own line (a secret shown only as a comment, say), or none.
    package init(_ name: String, read: @escaping Reader, line: @escaping @Sendable (Configuration) -> String?) {
        self.name = name
        self.read = read
        self.line = line
    }
}

// A key that sets one field: the field named once, with what the entry's value becomes and how it
// is written back. The kinds of value both daemons share are such keys, each read by
// ``ConfigurationValues`` and written as it reads.
extension ConfigurationKey {
    package typealias Field<Value> = any WritableKeyPath<Configuration, Value> & Sendable
    package typealias Parser<Value> =
        @Sendable (ConfigurationEntry, ConfigurationValues) throws(ConfigurationError) -> Value

    /// A key that sets `field` to what `parse` makes of the entry, and renders `name = render(value)`.
    package init<Value>(
        _ name: String, _ field: Field<Value>, parse: @escaping Parser<Value>,
        render: @escaping @Sendable (Value) -> String
    ) {
        self.init(
            name,
            read: { configuration, entry, values throws(ConfigurationError) in
                configuration[keyPath: field] = try parse(entry, values)
            }, value: { render($0[keyPath: field]) })
    }

    /// A key that sets `field` to what `parse` makes of the entry, and renders its own line, or none.
    package init<Value>(
        _ name: String, _ field: Field<Value>, parse: @escaping Parser<Value>,
        line: @escaping @Sendable (Value) -> String?
    ) {
        self.init(
            name,
            read: { configuration, entry, values throws(ConfigurationError) in
                configuration[keyPath: field] = try parse(entry, values)
            }, line: { line($0[keyPath: field]) })
    }

    package static func duration(_ name: String, _ field: Field<Duration>, atLeast minimum: Duration? = nil) -> Self {
        Self(
            name, field,
            parse: { entry, values throws(ConfigurationError) in try values.duration(entry, atLeast: minimum) },
            render: \.configurationText)
    }

    package static func integer(_ name: String, _ field: Field<Int>, in range: ClosedRange<Int>) -> Self {
        Self(
            name, field, parse: { entry, values throws(ConfigurationError) in try values.integer(entry, in: range) },
            render: { "\($0)" })
    }

    package static func size(_ name: String, _ field: Field<Int>, in range: ClosedRange<Int>) -> Self {
        Self(
            name, field, parse: { entry, values throws(ConfigurationError) in try values.size(entry, in: range) },
            render: ByteSize.render)
    }

    package static func boolean(_ name: String, _ field: Field<Bool>) -> Self {
        Self(
            name, field, parse: { entry, values throws(ConfigurationError) in try values.boolean(entry) },
            render: { $0 ? "yes" : "no" })
    }

    package static func hostPort(_ name: String, _ field: Field<HostPort>) -> Self {
        Self(
            name, field, parse: { entry, values throws(ConfigurationError) in try values.hostPort(entry) },
            render: { "\($0)" })
    }

    package static func logLevel(_ name: String, _ field: Field<LogLevelName>) -> Self {
        Self(
            name, field, parse: { entry, values throws(ConfigurationError) in try values.logLevel(entry) },
            render: \.rawValue)
    }

    /// A file path or name taken as written; empty means none.
    package static func optionalText(_ name: String, _ field: Field<String?>) -> Self {
        Self(name, field, parse: { entry, _ in entry.value.isEmpty ? nil : entry.value }, render: { $0 ?? "" })
    }
}

extension Array {
    /// The section's schema entry: its name and the keys of this table.
    package func schema<Configuration>(section: String) -> (String, [String])
    where Element == ConfigurationKey<Configuration> {
        (section, map(\.name))
    }

    /// Reads every entry into `configuration` by its key, and returns the entries by key so that
    /// checks across keys can point at the line they blame.
    package func read<Configuration>(
        _ entries: [ConfigurationEntry], into configuration: inout Configuration, file: String
    ) throws(ConfigurationError) -> [String: ConfigurationEntry] where Element == ConfigurationKey<Configuration> {
        let values = ConfigurationValues(file: file)
        var lines: [String: ConfigurationEntry] = [:]
        for entry in entries {
            lines[entry.key] = entry
            // The schema has already refused unknown keys.
            guard let key = first(where: { $0.name == entry.key }) else { continue }
            try key.read(&configuration, entry, values)
        }
        return lines
    }

    /// The section as `rendered()` writes it: its header and one line a key, in the table's order.
    package func rendered<Configuration>(_ configuration: Configuration, section: String) -> String
    where Element == ConfigurationKey<Configuration> {
        "[\(section)]\n" + compactMap { $0.line(configuration).map { $0 + "\n" } }.joined()
    }
}
