package import GatewayStore
package import Logging
package import MonitorSystem

#if canImport(Glibc)
    import Glibc
#endif

/// One segment of the log as recovery left it (and as the log then keeps track of it).
package struct WALSegment: Equatable, Sendable {
    package var name: String
    package var firstRecord: UInt64
    /// Records numbered in it (passed-over ones included: they keep their numbers).
    package var records: Int
    package var bytes: Int
    /// Where its numbered records begin, after the header and the checkpoint.
    package var recordsStart: Int

    package init(name: String, firstRecord: UInt64, records: Int, bytes: Int, recordsStart: Int) {
        self.name = name
        self.firstRecord = firstRecord
        self.records = records
        self.bytes = bytes
        self.recordsStart = recordsStart
    }
}

/// Opening the log: every segment in `wal-directory` read once, oldest first, checked and repaired,
/// its checkpoint and records summed into a ``LogCheckpoint`` and its records handed over in the
/// order written. No threads and no NIO, so that it is fuzzed as it runs (Fuzz/FuzzWALRecovery).
///
/// Damage: a torn or corrupt record is reported once with file and offset and the file is cut
/// there; damaged records whose lengths prove right, and damaged checkpoint entries, are passed
/// over and reported; a segment whose header is unreadable is reported and deleted; a file that
/// is not a regular file is reported and left alone. Never traps; memory is bounded by the
/// largest segment a log writes.
package enum WALRecovery {
    /// The most of a file read as a segment: the most a log writes into one.
    package static let maximumFileBytes =
        WALFormat.headerBytes + WALFormat.maximumCheckpointBytes + maximumSegmentRecordBytes
    /// Records are rotated away from a segment at this many bytes at most.
    package static let maximumSegmentRecordBytes = 64 << 20

    package struct Result: Sendable, Equatable {
        /// The segments kept, oldest first.
        package var segments: [WALSegment]
        /// The number the next record takes (checked: below 2^63 unless the caller refuses it).
        package var nextRecord: UInt64
        /// What every record up to the newest adds up to, per agent: the store's restored state.
        package var checkpoint = LogCheckpoint()
        /// Intact records handed over.
        package var records = 0
        /// Damaged segments reported (cut, deleted, left alone, or with records passed over), and
        /// gaps in the numbering between segments (a segment deleted or moved away).
        package var damaged = 0
        /// Records numbered in a gap between two segments: in no file, so neither replayed nor forwarded.
        package var missingRecords: UInt64 = 0
        /// Segments fsynced because they held records (a killed run may never have synced them).
        package var syncedSegments = 0
        /// Per agent, the newest timestamp (Unix seconds) of its records numbered up to the
        /// `forwardedThrough` given, but those in `passedOver`: what the receiver holds, or refused,
        /// of each agent's series.
        package var newestForwarded: [String: Double] = [:]
    }

    /// Recovers the segments of `directory`, handing every intact record to `replay` in the order
    /// written. Throws only when the directory cannot be listed or a repair cannot be made.
    package static func recover(
        directory: String, logger: Logger, forwardedThrough: UInt64 = 0, passedOver: [ClosedRange<UInt64>] = [],
        replay: (WALRecord) -> Void
    ) throws(FileOperationError) -> Result {
        let names = try DurableFiles.list(directory)
        DurableFiles.removeTemporaryFiles(among: names, in: directory) { _, error in
            // The log still opens; a rotation that needs the name fails, and appends are refused,
            // until it is moved away.
            logger.error("write-ahead log: \(error); left alone")
        }
        var result = Result(segments: [], nextRecord: 1)
        let numbered = names.compactMap { name in WALFormat.segmentNumber(name).map { (name, $0) } }
        // The number the next segment must start at for the numbering to be whole: after a segment
        // kept, its end; unknown at the start (the bound deletes from the front) and after a file
        // already reported as damaged (left alone or deleted: what it held is reported there).
        var expected: (number: UInt64, after: String)?
        for (name, number) in numbered.sorted(by: { $0.1 < $1.1 }) {
            let path = directory + "/" + name
            let previous = expected
            expected = nil
            let bytes: [UInt8]
            do throws(FileOperationError) {
                // A file longer than any segment is read only as far as a segment goes: the rest
                // is then a torn record and cut, never an allocation a planted file chooses.
                bytes = try DurableFiles.readFile(path, limit: maximumFileBytes)
            } catch {
                logger.warning("write-ahead log: \(error); left alone", metadata: ["file": "\(path)"])
                result.damaged += 1
                // Its name stays taken: the numbering goes on after it, so no new segment needs it.
                let (next, overflow) = number.addingReportingOverflow(1)
                result.nextRecord = max(result.nextRecord, overflow ? WALFormat.maximumNumber : next)
                continue
            }
            let contents: WALSegmentContents
            do throws(WALSegmentReader.HeaderError) {
                // The header first: records of a segment that is not the one its name says are not replayed.
                let header = try WALSegmentReader.header(bytes[...])
                guard header.firstRecord == number else {
                    throw WALSegmentReader.HeaderError(
                        description: "its header starts at record \(header.firstRecord), not at its name's")
                }
                // The checkpoint sums every record before this segment, some of which may be gone:
                // it replaces what the records read so far said of its agents. Records are
                // replayed as they are decoded. Records a previous run wrote and never synced count
                // as durable from here on (a welcome may promise them), so the file is synced
                // below, before anything can be promised.
                contents = try WALSegmentReader.read(bytes[...]) { entry in
                    result.checkpoint.take(entry)
                } each: { record, number in
                    result.checkpoint.add(record)
                    if number <= forwardedThrough, !passedOver.contains(where: { $0.contains(number) }) {
                        let time = record.sample.timestamp ?? record.arrival
                        if time > result.newestForwarded[record.agent, default: -.infinity] {
                            result.newestForwarded[record.agent] = time
                        }
                    }
                    replay(record)
                }
            } catch {
                logger.warning("write-ahead log: \(path): \(error); file deleted", metadata: ["file": "\(path)"])
                result.damaged += 1
                try DurableFiles.removeFile(path)
                continue
            }
            // A segment whose header is right, after a gap: records numbered between the two are in
            // no file (a segment deleted or moved away by hand), and would otherwise be passed over
            // in silence by the forwarder.
            if let previous, number > previous.number {
                let missing = number - previous.number
                logger.error(
                    "write-ahead log \(directory): records \(previous.number)...\(number - 1) are missing (\(missing) records: no segment between \(previous.after) and \(name), one was deleted or moved away); they are not replayed or forwarded",
                    metadata: ["file": "\(path)"])
                result.damaged += 1
                result.missingRecords += missing
            }
            if let damage = contents.damage {
                logger.warning(
                    "write-ahead log: \(path): \(damage); cut there, \(bytes.count - contents.validBytes) bytes discarded",
                    metadata: ["file": "\(path)"])
                result.damaged += 1
                try DurableFiles.truncateFile(path, to: contents.validBytes)
            }
            if let first = contents.firstSkipped {
                logger.warning(
                    "write-ahead log: \(path): \(contents.skipped) damaged records passed over, the first \(first)",
                    metadata: ["file": "\(path)"])
                result.damaged += 1
            }
            if let damage = contents.checkpointDamage {
                logger.warning(
                    "write-ahead log: \(path): \(damage); those agents' totals are rebuilt from the records alone",
                    metadata: ["file": "\(path)"])
                result.damaged += 1
            }
            if contents.recordCount > 0 {
                try syncFile(path)
                result.syncedSegments += 1
            }
            result.records += contents.recordCount
            // Passed-over records keep their numbers: the numbering, and the next segment's name, go on after them.
            let numberedRecords = contents.recordCount + contents.skipped
            result.segments.append(
                WALSegment(
                    name: name, firstRecord: number, records: numberedRecords, bytes: contents.validBytes,
                    recordsStart: contents.recordsStart))
            // Checked: a forged header near 2^63 must not wrap the numbering.
            let (end, overflow) = number.addingReportingOverflow(UInt64(numberedRecords))
            result.nextRecord = max(result.nextRecord, overflow ? WALFormat.maximumNumber : end)
            if !overflow { expected = (end, name) }
        }
        return result
    }

    private static func syncFile(_ path: String) throws(FileOperationError) {
        let descriptor = Glibc.open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw FileOperationError(path, "open") }
        defer { Glibc.close(descriptor) }
        try DurableFiles.sync(descriptor, path: path)
    }
}
