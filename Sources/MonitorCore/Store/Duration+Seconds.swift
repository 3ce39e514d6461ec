extension Duration {
    /// The store compares Unix times as `Double` seconds; this converts configured durations once, at (re)configuration.
    var seconds: Double {
        let parts = components
        return Double(parts.seconds) + Double(parts.attoseconds) * 1e-18
    }
}
