import MonitorSystem

/// Reads a configuration file's bytes without Foundation, so that the daemons' start-up and SIGHUP reload
/// report an unreadable file the way the rest of the configuration errors are reported.
public enum ConfigurationFile {
    public static func read(path: String) throws(ConfigurationError) -> String {
        let bytes: [UInt8]
        do {
            bytes = try BoundedFile.read(path: path, limit: INIParser.maximumFileBytes)
        } catch {
            switch error {
            case .tooLarge:
                throw ConfigurationError(
                    file: path, line: nil, message: "file is larger than 1 MiB; refusing to read it")
            case .system(let reason): throw ConfigurationError(file: path, line: nil, message: "cannot read: \(reason)")
            }
        }
        return try INIParser.decode(bytes, file: path)
    }
}
