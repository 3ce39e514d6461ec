/// Lines and words of a `/proc` text file, read in place from its bytes.
///
/// The agent parses `/proc/stat`, `/proc/meminfo` and `/proc/self/statm` every sample (and the gateway
/// `/proc/stat` for each scrape of its `process_*` families); doing it
/// over the bytes it read, without splitting into `String`s and arrays, keeps a sample free of
/// heap allocations. Words are separated by spaces and tabs, lines by `\n`, as the kernel writes
/// them.
package struct ProcText {
    package typealias Word = Slice<UnsafeRawBufferPointer>

    package let bytes: UnsafeRawBufferPointer

    package init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    /// The lines, each as a cursor over its words.
    package func forEachLine(_ body: (inout ProcLine) throws(ProcFileError) -> Void) throws(ProcFileError) {
        var start = 0
        while start < bytes.count {
            var end = start
            while end < bytes.count, bytes[end] != UInt8(ascii: "\n") { end += 1 }
            var line = ProcLine(bytes: bytes, position: start, end: end)
            try body(&line)
            start = end + 1
        }
    }

    /// The first line whose first word is `name`, positioned after that word.
    package func line(named name: StaticString) -> ProcLine? {
        var found: ProcLine?
        var start = 0
        while start < bytes.count, found == nil {
            var end = start
            while end < bytes.count, bytes[end] != UInt8(ascii: "\n") { end += 1 }
            var line = ProcLine(bytes: bytes, position: start, end: end)
            if let first = line.nextWord(), Self.word(first, equals: name) { found = line }
            start = end + 1
        }
        return found
    }

    package static func word(_ word: Word, equals name: StaticString) -> Bool {
        guard word.count == name.utf8CodeUnitCount else { return false }
        let expected = UnsafeRawBufferPointer(start: name.utf8Start, count: name.utf8CodeUnitCount)
        return word.elementsEqual(expected)
    }

    /// A decimal number of ASCII digits only; `nil` if empty, anything else, or above `UInt64.max`.
    package static func decimal(_ word: Word) -> UInt64? {
        ASCIIDecimal.parse(buffer: UnsafeRawBufferPointer(rebasing: word))
    }

    /// The word as text, for error messages only.
    package static func text(_ word: Word) -> String {
        String(decoding: word, as: UTF8.self)
    }

    /// Runs `body` over the UTF-8 of `text`, for the `String` forms of the parsers.
    package static func withBytes<Result>(
        of text: String, _ body: (ProcText) throws(ProcFileError) -> Result
    ) throws(ProcFileError) -> Result {
        var text = text
        let result = text.withUTF8 { buffer in
            Swift.Result { () throws(ProcFileError) in try body(ProcText(UnsafeRawBufferPointer(buffer))) }
        }
        return try result.get()
    }
}

/// One line of a ``ProcText``: its words, one at a time.
package struct ProcLine {
    let bytes: UnsafeRawBufferPointer
    var position: Int
    let end: Int

    /// The next word of the line, or `nil` at its end.
    package mutating func nextWord() -> ProcText.Word? {
        while position < end, Self.isBlank(bytes[position]) { position += 1 }
        guard position < end else { return nil }
        let start = position
        while position < end, !Self.isBlank(bytes[position]) { position += 1 }
        return bytes[start..<position]
    }

    private static func isBlank(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t")
    }
}
