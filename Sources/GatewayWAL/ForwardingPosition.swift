import GatewayWALFiles
public import MonitorSystem

#if canImport(Glibc)
    import Glibc
#endif

/// The file in `wal-directory` that says how far remote write got: every record of the log up to
/// its number was accepted by the receiver (2xx) or given up for good (counted as dropped).
///
///     "MONDFWD2" | record number u64 | losses nonce u64 | CRC-32C u32 of the preceding bytes
///
/// The nonce is that of the `remote-write.lost` written before it (``ForwardingLosses``): a
/// restart trusts that file only if it is that one, not an older copy or another log's, which would
/// name too few records passed over (audit 19, B). 0: bound to none. Version 1 (`"MONDFWD1"`,
/// no nonce) is still read.
///
/// Replaced whole (a temporary file, fsync, rename, fsync of the directory) after each request,
/// so that a kill or a power cut leaves the old position or the new one, never a part. A restart
/// forwards the records after it: what was unsent, and at most the last requests again.
public enum ForwardingPosition {
    public static let fileName = "remote-write.position"
    static let magic = Array("MONDFWD2".utf8)
    static let firstMagic = Array("MONDFWD1".utf8)
    static let fileBytes = magic.count + 8 + 8 + 4
    static let firstFileBytes = firstMagic.count + 8 + 4

    /// What loading the position found: the number (0 when the file is absent or unusable, so
    /// that forwarding starts from the log's oldest record), and why it was unusable, if it was.
    public struct Loaded: Sendable, Equatable {
        public var number: UInt64
        public var problem: String?
        /// The nonce of the `remote-write.lost` the position was written after; nil for a version 1
        /// file, an absent or an unusable one.
        public var lossesNonce: UInt64?

        public init(number: UInt64, problem: String? = nil, lossesNonce: UInt64? = nil) {
            self.number = number
            self.problem = problem
            self.lossesNonce = lossesNonce
        }
    }

    static func encode(_ number: UInt64, lossesNonce: UInt64 = 0) -> [UInt8] {
        var bytes = magic
        LittleEndian.append(number, to: &bytes)
        LittleEndian.append(lossesNonce, to: &bytes)
        LittleEndian.append(CRC32C.checksum(bytes), to: &bytes)
        return bytes
    }

    /// Total: any content gives a number (and the version 2 nonce) or a reason, never a trap.
    static func decode(_ bytes: [UInt8]) -> Result<(number: UInt64, lossesNonce: UInt64?), WALSegmentReader.HeaderError>
    {
        func fail(_ text: String) -> Result<(number: UInt64, lossesNonce: UInt64?), WALSegmentReader.HeaderError> {
            .failure(WALSegmentReader.HeaderError(description: text))
        }
        let first = bytes.prefix(firstMagic.count).elementsEqual(firstMagic)
        guard first || bytes.prefix(magic.count).elementsEqual(magic) else {
            return fail("bad magic or too short (\(bytes.count) bytes)")
        }
        let size = first ? firstFileBytes : fileBytes
        guard bytes.count == size else { return fail("\(bytes.count) bytes, expected \(size)") }
        let stored = LittleEndian.read(UInt32.self, from: bytes[...], at: size - 4)
        guard CRC32C.checksum(bytes.prefix(size - 4)) == stored else { return fail("checksum mismatch") }
        let number = LittleEndian.read(UInt64.self, from: bytes[...], at: magic.count)
        guard number <= WALFormat.maximumNumber else { return fail("record number \(number) above 2^63") }
        return .success((number, first ? nil : LittleEndian.read(UInt64.self, from: bytes[...], at: magic.count + 8)))
    }

    /// The position in `directory`: absent is 0 (a first start, or a log from before forwarding
    /// read it), and so is a file that cannot be trusted, with the reason: forwarding then starts
    /// from the oldest record, sending again what the receiver may hold rather than losing any.
    public static func load(directory: String) -> Loaded {
        let path = directory + "/" + fileName
        var status = stat()
        if lstat(path, &status) != 0, errno == ENOENT { return Loaded(number: 0, problem: nil) }
        let bytes: [UInt8]
        do throws(FileOperationError) {
            // One byte more than the format: a longer file is refused, never read whole.
            bytes = try DurableFiles.readFile(path, limit: fileBytes + 1)
        } catch {
            return Loaded(number: 0, problem: error.description)
        }
        switch decode(bytes) {
        case .success(let found): return Loaded(number: found.number, problem: nil, lossesNonce: found.lossesNonce)
        case .failure(let reason): return Loaded(number: 0, problem: "\(path): \(reason.description)")
        }
    }

    /// Replaces the position in `directory` with `number`, durably, bound to the
    /// `remote-write.lost` of `lossesNonce` (0: none).
    public static func store(_ number: UInt64, lossesNonce: UInt64 = 0, directory: String) throws(FileOperationError) {
        try DurableFiles.replace(
            directory + "/" + fileName, with: encode(number, lossesNonce: lossesNonce), durable: true)
        try DurableFiles.syncDirectory(directory)
    }
}
