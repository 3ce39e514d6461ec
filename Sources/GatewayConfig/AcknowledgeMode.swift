/// When the gateway acknowledges an agent's sample (`acknowledge`): what "acknowledged" promises.
///
/// The agent forgets (and stops replaying) what was acknowledged, so this is the line between
/// what the agent still guards and what the gateway must.
/// - `received`: once the gateway holds it in memory. A gateway killed before forwarding it loses it.
/// - `durable`: once it is in the write-ahead log (`wal-directory`) and, with `wal-fsync = always`,
///   on disk; a killed gateway restores it on restart.
/// - `forwarded`: once the remote-write receiver took (2xx) the request that carried it, or gave it up
///   for good (refused on its own, too old, out of order, deleted unforwarded by `wal-max-size`);
///   needs `[remote-write]` and `wal-directory`. A gateway that dies for good loses nothing: the
///   agents still hold what it had not forwarded.
public enum AcknowledgeMode: String, Sendable, CaseIterable {
    case received
    case durable
    case forwarded
}
