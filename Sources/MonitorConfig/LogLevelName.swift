/// The verbosity a daemon logs at, spelled as in the configuration file.
///
/// The names and order are swift-log's `Logger.Level`, which the daemons map to journal priorities.
public enum LogLevelName: String, Sendable, CaseIterable {
    case trace, debug, info, notice, warning, error, critical
}
