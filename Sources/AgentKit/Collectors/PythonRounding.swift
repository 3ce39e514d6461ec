extension Double {
    /// Python's `round(value, 1)`: the one-decimal number nearest to the exact binary value, ties to even.
    ///
    /// psutil rounds its percentages this way. Rounding `value * 10` naively differs on values such as 0.15,
    /// whose double lies just below the tie but whose product with 10 rounds to exactly 1.5.
    var roundedToOneDecimal: Double {
        let value = self
        guard value.isFinite, value.magnitude < 1e15 else { return value }
        let scaled = value * 10
        // The exact rounding error of the product (a fused multiply-add rounds only once).
        let error = (-scaled).addingProduct(value, 10)
        var whole = scaled.rounded(.toNearestOrEven)
        if (scaled - scaled.rounded(.towardZero)).magnitude == 0.5 {
            // `scaled` looks like a tie only because the product was rounded: the exact value decides.
            if error > 0 {
                whole = scaled.rounded(.up)
            } else if error < 0 {
                whole = scaled.rounded(.down)
            }
        }
        return whole / 10
    }
}
