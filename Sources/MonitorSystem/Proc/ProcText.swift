#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

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
        for var line in lines { try body(&line) }
    }

    /// The lines in order, each as a cursor over its words; a loop over them may stop early,
    /// and the rest of the file is then never scanned.
    package var lines: Lines { Lines(bytes: bytes) }

    /// The lines of a ``ProcText``, found one at a time.
    package struct Lines: Sequence, IteratorProtocol {
        let bytes: UnsafeRawBufferPointer
        var start = 0

        package mutating func next() -> ProcLine? {
            guard start < bytes.count, let base = bytes.baseAddress else { return nil }
            // memchr rather than a loop over the bytes: before /proc/stat's `intr` line come one
            // line per CPU, and a loop cost more than the parsing of the lines wanted.
            let newline = memchr(base + start, Int32(UInt8(ascii: "\n")), bytes.count - start)
            let end = newline.map { base.distance(to: UnsafeRawPointer($0)) } ?? bytes.count
            defer { start = end + 1 }
            return ProcLine(bytes: bytes, position: start, end: end)
        }
    }

    /// The first line whose first word is `name`, positioned after that word.
    package func line(named name: StaticString) -> ProcLine? {
        for var line in lines {
            if let first = line.nextWord(), Self.word(first, equals: name) { return line }
        }
        return nil
    }

    package static func word(_ word: Word, equals name: StaticString) -> Bool {
        guard word.count == name.utf8CodeUnitCount else { return false }
        guard let start = UnsafeRawBufferPointer(rebasing: word).baseAddress else { return true }
        // memcmp rather than a generic `elementsEqual`, which runs byte by byte through an iterator.
        return memcmp(start, name.utf8Start, name.utf8CodeUnitCount) == 0
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
