import MonitorModel

/// When the spool asks the kernel to put appended samples on stable storage (`spool-fsync`).
///
/// Every sample is written with `write(2)` before the agent hands it to the connection, so a
/// killed agent (SIGKILL, a crash) loses nothing whatever the policy: the kernel already holds
/// the bytes. The policy only matters when the machine itself stops (power loss, kernel panic):
/// - `always` (the default): `fsync(2)` after every sample, before it can be sent. Nothing the
///   gateway may have seen can be lost; at one sample per interval the cost is one small
///   synchronous write every few seconds.
/// - a duration (e.g. `1s`): at most that long (plus one housekeeping second) of samples can be
///   lost, for fewer disk flushes at very short intervals.
/// - `never`: the kernel writes back when it likes (typically within 30 s on Linux).
///
/// With anything but `always`, a power loss can also lose sequence numbers the gateway already
/// holds; the restarted agent notices (the gateway's `last_seq` is above its own) and continues
/// numbering after it, losing the few samples it took meanwhile with those numbers.
public enum SpoolFsyncPolicy: Sendable, Equatable {
    case always
    case never
    case every(Duration)

    /// Reads `always`, `never` or a duration (`500ms`, `1s`, ...).
    static func parse(_ text: String) -> SpoolFsyncPolicy? {
        switch text {
        case "always": return .always
        case "never": return .never
        default:
            guard let duration = Duration(configurationText: text), duration > .zero else { return nil }
            return .every(duration)
        }
    }

    var rendered: String {
        switch self {
        case .always: "always"
        case .never: "never"
        case .every(let duration): duration.configurationText
        }
    }
}
