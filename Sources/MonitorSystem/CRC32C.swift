/// CRC-32C (Castagnoli), the checksum of every record and segment header of the agent's spool
/// and the gateway's write-ahead log.
///
/// Castagnoli rather than the zlib polynomial because it detects more error patterns at the
/// record sizes the spool and the log write, and because it is what other storage formats (ext4, iSCSI,
/// LevelDB's log) use for the same job. A table-driven software version is plenty for one
/// 57-byte record per sampling interval, and for the log's group-committed batches.
package enum CRC32C {
    private static let table: [UInt32] = (0..<256).map { index in
        var value = UInt32(index)
        for _ in 0..<8 {
            value = value & 1 == 1 ? (value >> 1) ^ 0x82F6_3B78 : value >> 1
        }
        return value
    }

    /// The checksum of `bytes`, continuing from `previous` (the checksum of the bytes before).
    package static func checksum(_ bytes: some Sequence<UInt8>, continuing previous: UInt32 = 0) -> UInt32 {
        var crc = ~previous
        for byte in bytes {
            crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8)
        }
        return ~crc
    }
}
