/// Little-endian integers in byte arrays: the byte order of every on-disk format of the daemons
/// (the agent's spool, the gateway's write-ahead log), whatever the machine's.
///
/// Inlinable so that each caller gets a version specialised for its integer type: unspecialised,
/// the generic shifts went through the integer protocols' witness tables byte by byte, and took
/// most of a write-ahead log replay's time (perf, release build: about 60 % of it).
package enum LittleEndian {
    @inlinable
    package static func append<T: FixedWidthInteger>(_ value: T, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// The integer at `offset` from the slice's start; the caller has checked that it fits.
    @inlinable
    package static func read<T: FixedWidthInteger>(_: T.Type, from bytes: ArraySlice<UInt8>, at offset: Int) -> T {
        var value: T = 0
        for index in 0..<MemoryLayout<T>.size {
            value |= T(truncatingIfNeeded: bytes[bytes.startIndex + offset + index]) << (8 * index)
        }
        return value
    }
}
