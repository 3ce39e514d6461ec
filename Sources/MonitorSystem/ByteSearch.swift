extension Collection<UInt8> {
    /// Where `needle` first occurs, byte for byte (over a string's `utf8`, an ASCII needle gives a
    /// range of the string's own indices). Not `String.contains(_:)` or `firstRange(of:)` of a
    /// string: those come from _StringProcessing, and using either links the Regex runtime
    /// (about 950 KB) into every program that links the module.
    package func firstRange(ofBytes needle: some Collection<UInt8>) -> Range<Index>? {
        guard !needle.isEmpty else { return startIndex..<startIndex }
        var start = startIndex
        while start != endIndex {
            var position = start
            var matched = true
            for byte in needle {
                guard position != endIndex, self[position] == byte else {
                    matched = false
                    break
                }
                formIndex(after: &position)
            }
            if matched { return start..<position }
            formIndex(after: &start)
        }
        return nil
    }

    /// Whether `needle` occurs, byte for byte (see ``firstRange(ofBytes:)``).
    package func contains(bytes needle: some Collection<UInt8>) -> Bool {
        firstRange(ofBytes: needle) != nil
    }
}
