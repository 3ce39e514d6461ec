/// Cuts a TCP byte stream into top-level JSON objects.
///
/// TCP has no message boundaries: the report's agent writes objects back to back, so one read
/// may hold several objects and one object may span several reads; the native protocol adds a
/// newline after each object. The splitter handles both by tracking JSON structure (strings,
/// escapes, nesting) rather than looking for delimiters, and accepts only white space between
/// objects.
///
/// Each byte is scanned once, when it is appended, and the scanning state survives between
/// appends, so a slow peer trickling one byte at a time costs no rescans. Because scanning is
/// eager, an object that grows past `maximumObjectBytes` is refused as soon as the limit is
/// passed and its bytes are dropped: a peer cannot make the splitter hold more than one
/// maximum-sized partial object plus the complete objects the caller has not yet taken.
///
/// The splitter checks structure only; whether the object is valid JSON is the codec's job.
///
/// Use: after each read, `append` the bytes, then call `nextObject()` until it returns `nil`.
/// After a `FramingError` the stream is unusable and every later call throws the same error.
public struct JSONObjectSplitter: Sendable {
    /// The largest object, from `{` to `}` inclusive, that is accepted.
    public let maximumObjectBytes: Int
    /// The deepest nesting of objects and arrays that is accepted; the top-level object is 1.
    public let maximumDepth: Int

    /// Received bytes not yet discarded; indices below are into this array.
    private var storage: [UInt8] = []
    /// Stream offset of `storage[0]`, for error offsets that survive compaction.
    private var storageStreamOffset = 0
    /// First byte not yet scanned.
    private var scanIndex = 0
    /// Complete objects found by scanning and not yet returned, oldest first from `pendingHead`.
    private var pending: [Range<Int>] = []
    private var pendingHead = 0
    /// The error that ended the stream, thrown once the objects before it are taken.
    private var failure: FramingError?

    // Scanning state of the object in progress.
    private var depth = 0
    /// Bit `d - 1` is set when the container at depth `d` is an object, clear for an array.
    private var containerIsObject: UInt64 = 0
    private var inString = false
    private var afterBackslash = false
    private var objectStart = 0

    /// - Parameters:
    ///   - maximumObjectBytes: objects longer than this are refused (at least 2, for `{}`).
    ///   - maximumDepth: nesting limit, clamped to 1...64.
    public init(maximumObjectBytes: Int = 65536, maximumDepth: Int = 64) {
        self.maximumObjectBytes = max(2, maximumObjectBytes)
        self.maximumDepth = min(max(1, maximumDepth), 64)
    }

    /// Bytes received and still held: complete objects not yet taken plus the partial object.
    public var bufferedByteCount: Int {
        storage.count - discardablePrefix
    }

    /// Whether the stream stopped inside an object; at end of stream this means the peer
    /// closed mid-message.
    public var hasPartialObject: Bool {
        failure == nil && depth > 0
    }

    /// Adds received bytes and scans them.
    public mutating func append(_ bytes: some Sequence<UInt8>) {
        let handled: Void? = bytes.withContiguousStorageIfAvailable { buffer in
            self.append(UnsafeRawBufferPointer(buffer))
        }
        if handled == nil {
            append(Array(bytes))
        }
    }

    /// Adds received bytes and scans them.
    public mutating func append(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { append($0) }
    }

    /// Adds received bytes and scans them; the fast path for socket buffers.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) {
        guard failure == nil, !bytes.isEmpty else { return }
        compactIfWorthwhile()
        storage.append(contentsOf: bytes)
        scan()
    }

    /// The next complete top-level object, exactly from its `{` to its matching `}`, or `nil`
    /// when more bytes are needed.
    public mutating func nextObject() throws(FramingError) -> [UInt8]? {
        if pendingHead < pending.count {
            let range = pending[pendingHead]
            pendingHead += 1
            return Array(storage[range])
        }
        if let failure {
            throw failure
        }
        return nil
    }

    /// Frees the buffers once everything received was handed out and no object is begun: a
    /// connection between messages (an agent at one sample a second, 10,000 of them on a gateway)
    /// then holds no bytes, instead of a message's worth of capacity each. The next append
    /// allocates afresh.
    public mutating func releaseStorageIfIdle() {
        guard failure == nil, depth == 0, pendingHead == pending.count, scanIndex == storage.count,
            !storage.isEmpty || storage.capacity > 0
        else { return }
        storageStreamOffset += storage.count
        storage = []
        scanIndex = 0
        objectStart = 0
        pending = []
        pendingHead = 0
    }

    /// Bytes at the front of `storage` that were handed out or skipped.
    private var discardablePrefix: Int {
        if pendingHead < pending.count {
            return pending[pendingHead].lowerBound
        }
        return depth > 0 ? objectStart : scanIndex
    }

    /// Drops consumed bytes, but only when that moves at most as many bytes as it frees, so
    /// compaction costs amortised O(1) per byte.
    private mutating func compactIfWorthwhile() {
        guard pendingHead == pending.count else { return }
        let prefix = discardablePrefix
        guard prefix > 0, prefix >= storage.count - prefix else { return }
        storage.removeFirst(prefix)
        storageStreamOffset += prefix
        scanIndex -= prefix
        objectStart = depth > 0 ? objectStart - prefix : 0
        pending.removeAll(keepingCapacity: true)
        pendingHead = 0
    }

    private mutating func scan() {
        // The loop works on locals so that the compiler keeps them in registers and no
        // access to `self` overlaps the borrow of `storage`.
        var index = scanIndex
        var depth = self.depth
        var containerIsObject = self.containerIsObject
        var inString = self.inString
        var afterBackslash = self.afterBackslash
        var objectStart = self.objectStart
        var completed: [Range<Int>] = []
        swap(&completed, &pending)  // keeps the array uniquely referenced, so appends do not copy
        var error: FramingError?
        let limit = maximumObjectBytes
        let maximumDepth = self.maximumDepth
        let streamOffset = storageStreamOffset
        storage.withUnsafeBufferPointer { buffer in
            let end = buffer.count
            while index < end {
                let byte = buffer[index]
                if depth == 0 {
                    switch byte {
                    case 0x20, 0x09, 0x0A, 0x0D:
                        break
                    case UInt8(ascii: "{"):
                        depth = 1
                        containerIsObject = 1
                        objectStart = index
                    default:
                        error = .unexpectedByte(byte, offset: streamOffset + index)
                        return
                    }
                    index += 1
                    continue
                }
                if index - objectStart >= limit {
                    error = .objectTooLarge(limit: limit)
                    return
                }
                if inString {
                    if afterBackslash {
                        afterBackslash = false
                    } else if byte == UInt8(ascii: "\\") {
                        afterBackslash = true
                    } else if byte == UInt8(ascii: "\"") {
                        inString = false
                    }
                    index += 1
                    continue
                }
                switch byte {
                case UInt8(ascii: "\""):
                    inString = true
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    guard depth < maximumDepth else {
                        error = .nestingTooDeep(limit: maximumDepth)
                        return
                    }
                    let bit: UInt64 = 1 << UInt64(depth)
                    if byte == UInt8(ascii: "{") {
                        containerIsObject |= bit
                    } else {
                        containerIsObject &= ~bit
                    }
                    depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    let isObject = containerIsObject & (1 << UInt64(depth - 1)) != 0
                    guard isObject == (byte == UInt8(ascii: "}")) else {
                        error = .unexpectedByte(byte, offset: streamOffset + index)
                        return
                    }
                    depth -= 1
                    if depth == 0 {
                        completed.append(objectStart..<(index + 1))
                    }
                default:
                    break
                }
                index += 1
            }
        }
        scanIndex = index
        self.depth = depth
        self.containerIsObject = containerIsObject
        self.inString = inString
        self.afterBackslash = afterBackslash
        self.objectStart = objectStart
        pending = completed
        if let error {
            fail(error)
        }
    }

    /// Ends the stream: keeps the complete objects found so far and drops everything after.
    private mutating func fail(_ error: FramingError) {
        failure = error
        let keep = pendingHead < pending.count ? pending[pending.count - 1].upperBound : 0
        storage.removeSubrange(keep...)
        if keep == 0 {
            pending.removeAll()
            pendingHead = 0
        }
        scanIndex = keep
        depth = 0
        inString = false
        afterBackslash = false
    }
}
