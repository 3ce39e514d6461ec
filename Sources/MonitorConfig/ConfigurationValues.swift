import MonitorModel
import MonitorSystem

/// Converts the text of one entry into a typed value, or an error that quotes the value and says what
/// would be accepted. Shared by both daemons so that the same kind of value is described the same way.
package struct ConfigurationValues {
    package var file: String

    package init(file: String) { self.file = file }

    package func failure(_ entry: ConfigurationEntry, _ message: String) -> ConfigurationError {
        ConfigurationError(file: file, line: entry.line, message: "\(entry.key): \(message)")
    }

    package func hostPort(_ entry: ConfigurationEntry) throws(ConfigurationError) -> HostPort {
        guard let value = HostPort.parse(entry.value) else {
            throw failure(
                entry, "\(entry.value.quoted) is not a host:port (e.g. 0.0.0.0:5578, localhost:5578, [::1]:5578)")
        }
        return value
    }

    package func hostPortList(_ entry: ConfigurationEntry) throws(ConfigurationError) -> [HostPort] {
        let items = entry.value.split(separator: ",", omittingEmptySubsequences: false)
            .map { INIParser.trimmed($0) }
        guard !(items.count == 1 && items[0].isEmpty) else {
            throw failure(entry, "at least one host:port is required (e.g. 127.0.0.1:5578)")
        }
        var result: [HostPort] = []
        for item in items {
            guard let value = HostPort.parse(String(item)) else {
                throw failure(
                    entry,
                    "\(item.quoted) is not a host:port (a comma separated list such as 10.0.0.1:5578, [::1]:5578)")
            }
            result.append(value)
        }
        return result
    }

    package func duration(_ entry: ConfigurationEntry, atLeast minimum: Duration? = nil) throws(ConfigurationError)
        -> Duration
    {
        guard let value = Duration(configurationText: entry.value) else {
            throw failure(entry, "\(entry.value.quoted) is not a duration (use a unit: 500ms, 5s, 2m, 1h)")
        }
        if let minimum, value < minimum {
            throw failure(entry, "\(entry.value) is too short (at least \(minimum.configurationText))")
        }
        return value
    }

    package func size(_ entry: ConfigurationEntry, in range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
        guard let value = ByteSize.parse(entry.value) else {
            throw failure(entry, "\(entry.value.quoted) is not a size (use bytes or a unit: 65536, 64KiB, 1MiB)")
        }
        guard range.contains(value) else {
            throw failure(
                entry,
                "\(entry.value) is out of range (\(ByteSize.render(range.lowerBound))...\(ByteSize.render(range.upperBound)))"
            )
        }
        return value
    }

    package func integer(_ entry: ConfigurationEntry, in range: ClosedRange<Int>) throws(ConfigurationError) -> Int {
        guard (1...18).contains(entry.value.utf8.count), entry.value.utf8.allSatisfy({ (0x30...0x39).contains($0) }),
            let value = Int(entry.value)
        else {
            throw failure(entry, "\(entry.value.quoted) is not a whole number")
        }
        guard range.contains(value) else {
            throw failure(entry, "\(value) is out of range (\(range.lowerBound)...\(range.upperBound))")
        }
        return value
    }

    package func boolean(_ entry: ConfigurationEntry) throws(ConfigurationError) -> Bool {
        switch entry.value.lowercased() {
        case "yes", "true", "on", "1": return true
        case "no", "false", "off", "0": return false
        default:
            throw failure(entry, "\(entry.value.quoted) is not a boolean (use yes/no, true/false, on/off, 1/0)")
        }
    }

    package func logLevel(_ entry: ConfigurationEntry) throws(ConfigurationError) -> LogLevelName {
        guard let value = LogLevelName(rawValue: entry.value) else {
            let names = LogLevelName.allCases.map(\.rawValue).joined(separator: ", ")
            throw failure(entry, "\(entry.value.quoted) is not a log level (use \(names))")
        }
        return value
    }
}
