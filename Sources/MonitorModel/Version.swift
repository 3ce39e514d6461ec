/// The version both daemons report with `--version` and in the native protocol's hello.
public enum MonitorVersion {
    public static let current = "0.1.0"
}
