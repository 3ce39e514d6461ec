extension Duration {
    /// The duration in seconds, as a `Double`, for arithmetic against wall-clock times.
    public var inSeconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }

    /// The duration in seconds to one decimal, for people: "1.5 s".
    package var formattedSeconds: String {
        "\((inSeconds * 10).rounded() / 10) s"
    }
}
