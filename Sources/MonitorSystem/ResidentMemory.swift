import CMalloc

#if canImport(Glibc)
    import Glibc
#endif

/// Gives back the resident memory a long-running daemon touched once and no longer uses: the pages
/// of code that only starting, connecting or an outage ran, and the heap freed since.
///
/// Code: each executable mapping of a file (the binary's text, the C libraries') leaves the
/// process's page table (`MADV_DONTNEED`). Those pages are never written, so nothing is lost: they
/// stay in the page cache, and the code that runs next faults its pages back in (minor faults, a
/// few hundred for an agent's steady state). What stays resident is then what the steady state
/// runs, not everything that ever ran; an order file cannot do that for code shared by both.
/// Written mappings (data, relocations made read-only afterwards) are left alone:
/// `MADV_DONTNEED` would give them back the file's bytes.
///
/// Heap: `malloc_trim(0)` returns malloc's free pages (a replayed buffer's, say).
public enum ResidentMemory {
    /// Releases what it can; returns how many bytes of code mappings it advised (what may leave
    /// the RSS at most), 0 if `/proc/self/maps` cannot be read.
    @discardableResult
    public static func releaseUnusedPages(maps path: String = "/proc/self/maps") -> Int {
        _ = malloc_trim(0)
        guard let text = try? BoundedFile.read(path: path, limit: 1 << 20) else { return 0 }
        let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
        var advised = 0
        for mapping in codeMappings(in: text) {
            // The kernel's ranges are page-aligned; one that is not (a wrong file) is not touched.
            guard mapping.start % UInt(pageSize) == 0, mapping.length % pageSize == 0,
                let address = UnsafeMutableRawPointer(bitPattern: mapping.start)
            else { continue }
            if madvise(address, mapping.length, MADV_DONTNEED) == 0 { advised += mapping.length }
        }
        return advised
    }

    /// The executable, private, never-written mappings of files in a `/proc/PID/maps` text: lines
    /// `start-end r-xp offset dev inode /path`. Others (data, anonymous, `[vdso]`) and lines that do
    /// not parse are left out.
    package static func codeMappings(in maps: [UInt8]) -> [(start: UInt, length: Int)] {
        var found: [(start: UInt, length: Int)] = []
        for line in maps.split(separator: UInt8(ascii: "\n")) {
            let fields = line.split(separator: UInt8(ascii: " "), maxSplits: 5, omittingEmptySubsequences: true)
            // The kernel pads the inode's column: the path starts after the spaces.
            guard fields.count == 6, fields[1].elementsEqual("r-xp".utf8),
                fields[5].first(where: { $0 != UInt8(ascii: " ") }) == UInt8(ascii: "/")
            else { continue }
            let range = fields[0].split(separator: UInt8(ascii: "-"))
            guard range.count == 2, let start = hexadecimal(range[0]), let end = hexadecimal(range[1]), end > start,
                let length = Int(exactly: end - start)
            else { continue }
            found.append((start, length))
        }
        return found
    }

    private static func hexadecimal(_ digits: ArraySlice<UInt8>) -> UInt? {
        guard !digits.isEmpty, digits.count <= UInt.bitWidth / 4 else { return nil }
        var value: UInt = 0
        for digit in digits {
            let nibble: UInt8
            switch digit {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = digit - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = digit - UInt8(ascii: "a") + 10
            default: return nil
            }
            value = value << 4 | UInt(nibble)
        }
        return value
    }
}
