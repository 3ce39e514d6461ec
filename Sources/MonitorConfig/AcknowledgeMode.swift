/// When the gateway acknowledges an agent's sample (`acknowledge`): what "acknowledged" promises.
///
/// The agent forgets (and stops replaying) what was acknowledged, so this is the line between
/// what the agent still guards and what the gateway must.
/// - `received`: once the gateway holds it in memory. A gateway killed before forwarding it loses it.
/// - `durable`: once it is in the write-ahead log (`wal-directory`) and, with `wal-fsync = always`,
///   on disk; a killed gateway restores it on restart.
/// - `forwarded`: once the remote-write receiver took it (not available yet in this version:
///   refused by the configuration check rather than silently weaker).
public enum AcknowledgeMode: String, Sendable, CaseIterable {
    case received
    case durable
    case forwarded
}
