extension Duration {
    /// The duration in seconds, as a `Double`, for arithmetic against wall-clock times.
    public var inSeconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
