package import Logging
package import MonitorConfig
package import MonitorModel
import MonitorSystem

#if canImport(Glibc)
    import Glibc
#endif

/// The agent's optional disk spool: every sample it takes, in append-only segment files, until
/// the gateway acknowledges it. It makes the in-memory ``SampleBuffer`` survive a restart or a
/// `kill -9`.
///
/// Layout of the directory (`spool-directory`):
/// - `seg-<first sequence, 20 digits>.log`: segments in the format of ``SpoolFormat``. Only the
///   newest is appended to; it is rotated at ``segmentBytes``.
/// - `acked`: the acknowledgement watermark (``SpoolWatermark``).
/// - `*.tmp`: a segment header or watermark being written; removed on start.
///
/// Restart semantics: a spool holds one session, and an agent that finds one *resumes* it: it
/// announces the old session id and numbers on from the highest sequence it ever used. To the
/// gateway the restart is a reconnect, so its `last_seq` and dedupe apply across restarts, and
/// the unacknowledged samples are replayed under the numbers they were taken with.
///
/// Bounds: whole segments are deleted once every sample in them is acknowledged; when the files
/// would exceed ``maximumBytes`` the oldest segment is deleted and its undelivered samples counted
/// in ``droppedCount``.
///
/// Damage: on open, every segment is checked (header and record checksums, increasing sequences,
/// valid values). A torn or corrupt record is reported once with the file and offset, and the
/// file is truncated there so it is not reported again; a segment with an unreadable header is
/// reported and deleted. Opening never traps and reads each file once.
///
/// Not thread-safe: the agent keeps it under a lock of its own (not the state lock: its writes
/// and fsyncs must not stall acks and the writer).
package final class SampleSpool {
    /// What opening the spool found.
    package struct Recovery: Sendable {
        /// The session to announce: the spool's, or a new one for an empty spool.
        package var session: String
        /// Whether `session` was found on disk (a restart) rather than made up.
        package var resumed: Bool
        /// The highest sequence the gateway confirmed.
        package var acknowledged: UInt64
        /// The highest sequence ever used in this session; the next sample gets the one after.
        package var highestSequence: UInt64
        /// The newest unacknowledged samples, oldest first, at most `keep` of them.
        package var unacknowledged: [Sample]
        /// Unacknowledged samples on disk older than those in `unacknowledged`: left on disk, to be
        /// read back with ``samples(after:through:limit:)`` when their turn comes.
        package var notKept: Int
        /// The sequence numbers of those `notKept` samples, as increasing ranges.
        package var notKeptRanges: [ClosedRange<UInt64>]
        /// Total undelivered samples in the spool.
        package var undelivered: Int { unacknowledged.count + notKept }
    }

    private struct Segment {
        var name: String
        var firstSequence: UInt64
        var lastSequence: UInt64?
        var records: Int
        var bytes: Int
    }

    static let maximumSegmentBytes = 4 << 20

    let directory: String
    let maximumBytes: Int
    /// Rotation size: a sixteenth of the bound (within 4 KiB...4 MiB), so that dropping or
    /// deleting one segment frees a small, predictable part of the spool.
    let segmentBytes: Int
    let fsyncPolicy: SpoolFsyncPolicy
    private let logger: Logger
    private(set) var session: String
    private(set) var acknowledged: UInt64
    private(set) var highestSequence: UInt64
    /// Undelivered samples deleted to stay within ``maximumBytes``, since the agent started.
    private(set) var droppedCount: UInt64 = 0
    private var segments: [Segment] = []
    private var active: Int32 = -1
    private var unsynced = false
    private var lastSync = ContinuousClock.now
    /// When write errors are logged: once when they start, once when they have cleared.
    private var failureLog = SpoolFailureLog()
    /// The segment last read back for the writer, decoded.
    private var readCache: (name: String, bytes: Int, samples: [Sample])?

    private init(
        directory: String, maximumBytes: Int, fsyncPolicy: SpoolFsyncPolicy, logger: Logger, session: String,
        acknowledged: UInt64, highestSequence: UInt64
    ) {
        self.directory = directory
        self.maximumBytes = maximumBytes
        self.segmentBytes = min(Self.maximumSegmentBytes, max(4096, maximumBytes / 16))
        self.fsyncPolicy = fsyncPolicy
        self.logger = logger
        self.session = session
        self.acknowledged = acknowledged
        self.highestSequence = highestSequence
    }

    deinit { close() }

    /// Opens (creating if needed) the spool in `directory`, checks and repairs what it holds, and
    /// starts a new segment for this run.
    package static func open(
        directory: String, maximumBytes: Int, fsyncPolicy: SpoolFsyncPolicy, keep: Int, logger: Logger,
        newSession: () -> String
    ) throws(SpoolError) -> (SampleSpool, Recovery) {
        try DurableFiles.makeDirectory(directory, role: "spool directory", daemon: "agent")
        let names = try DurableFiles.list(directory)
        DurableFiles.removeTemporaryFiles(among: names, in: directory) { path, error in
            logger.error("spool: \(path): cannot delete it (\(error)): left alone", metadata: ["file": "\(path)"])
        }

        // Headers first: the newest segment's session is the spool's; others cannot be replayed.
        var headers: [(name: String, session: String, first: UInt64)] = []
        for (name, named) in names.compactMap({ name in segmentSequence(name).map { (name, $0) } }).sorted(by: {
            $0.1 < $1.1
        }) {
            let path = directory + "/" + name
            let prefix: [UInt8]
            do throws(SpoolError) {
                // Not following links: a link here was not written by the agent.
                prefix = try DurableFiles.readFile(path, limit: SpoolFormat.maximumHeaderBytes)
            } catch {
                removeOrLeave(path, because: "\(error)", logger: logger)
                continue
            }
            do throws(SpoolHeaderError) {
                let header = try SpoolSegmentReader.header(prefix[...])
                guard header.firstSequence == named else {
                    // The agent names every segment after its first sequence; a file that is not
                    // was not written by it, and a new segment could be written over it.
                    throw SpoolHeaderError(
                        description: "its header starts at sequence \(header.firstSequence), not at its name's")
                }
                headers.append((name, header.session, header.firstSequence))
            } catch {
                removeOrLeave(path, because: "\(path): \(error)", logger: logger)
            }
        }
        let watermarkPath = directory + "/" + SpoolWatermark.fileName
        let watermarkBytes = try? DurableFiles.readFile(watermarkPath, limit: 128)
        let watermark = watermarkBytes.flatMap(SpoolWatermark.parse)
        if let watermarkBytes, watermark == nil, let claimed = SpoolWatermark.sequenceAboveCeiling(watermarkBytes) {
            logger.error(
                "spool: \(watermarkPath): acknowledgement \(claimed) is above 2^63, the most a spool numbers: the file is corrupt; ignored, unacknowledged samples are replayed",
                metadata: ["file": "\(watermarkPath)"])
        } else if let watermarkBytes, watermark == nil {
            // Replaying a few samples the gateway holds costs nothing: it recognises them.
            logger.warning(
                "spool: \(watermarkPath): not one line \"<session> <sequence up to 2^63>\"; ignored, unacknowledged samples are replayed",
                metadata: ["file": "\(watermarkPath)", "bytes": "\(watermarkBytes.count)"])
        }
        // In the order of the numbers the headers carry, not of the file names: a file renamed (or
        // planted) under another name must not make a second open read it differently.
        headers.sort { ($0.first, $0.name) < ($1.first, $1.name) }
        let session = headers.last?.session ?? watermark?.session ?? newSession()
        var acknowledged = watermark?.session == session ? watermark!.sequence : 0
        var distrusted: UInt64?
        // With every record fsynced before it is sent, nothing can be acknowledged that the segments
        // do not hold: a watermark above their highest sequence is damage, and believing it would
        // discard every sample not yet delivered (audit 7, 04). Without fsync, a crash can take a
        // segment's tail that the gateway had acknowledged: there the watermark is believed, and
        // numbering goes on above it (the gateway holds those numbers).
        if fsyncPolicy == .always, acknowledged > 0,
            let newest = headers.last(where: { $0.session == session }),
            let held = Self.highestSequence(in: directory + "/" + newest.name, first: newest.first),
            acknowledged > held
        {
            logger.error(
                "spool: \(watermarkPath): acknowledgement \(acknowledged) is above the highest sequence the spool holds (\(held)), which spool-fsync = always rules out: the file is corrupt; ignored, every sample the spool holds is replayed (the gateway acknowledges again what it has)",
                metadata: ["file": "\(watermarkPath)"])
            distrusted = acknowledged
            acknowledged = 0
        }
        let spool = SampleSpool(
            directory: directory, maximumBytes: maximumBytes, fsyncPolicy: fsyncPolicy, logger: logger,
            session: session, acknowledged: acknowledged, highestSequence: acknowledged)

        var kept: [Sample] = []
        var notKept = 0
        var notKeptRanges: [ClosedRange<UInt64>] = []
        func leaveOnDisk(_ samples: ArraySlice<Sample>) {
            for sample in samples {
                notKept += 1
                if let last = notKeptRanges.last, last.upperBound + 1 == sample.sequence {
                    notKeptRanges[notKeptRanges.count - 1] = last.lowerBound...sample.sequence
                } else {
                    notKeptRanges.append(sample.sequence...sample.sequence)
                }
            }
        }
        for header in headers {
            let path = directory + "/" + header.name
            guard header.session == session else {
                removeOrLeave(
                    path, because: "\(path) belongs to session \(header.session), not the spool's \(session)",
                    logger: logger)
                continue
            }
            let bytes = try DurableFiles.readFile(path)
            guard let contents = try? SpoolSegmentReader.read(bytes[...]) else {
                // The header read fine a moment ago; the file changed under us. Leave it for the next start.
                continue
            }
            if let damage = contents.damage {
                logger.warning(
                    "spool: \(path): \(damage); truncated there, \(bytes.count - contents.validBytes) bytes discarded",
                    metadata: ["file": "\(path)", "offset": "\(damage.offset)"])
                try DurableFiles.truncateFile(path, to: contents.validBytes)
            }
            if let first = contents.firstSkipped {
                logger.warning(
                    "spool: \(path): \(contents.skipped) damaged records passed over (the records after them are intact), the first \(first)",
                    metadata: ["file": "\(path)", "offset": "\(first.offset)"])
            }
            spool.highestSequence = max(spool.highestSequence, header.first - 1)
            var segment = Segment(
                name: header.name, firstSequence: header.first, lastSequence: nil, records: 0,
                bytes: contents.validBytes)
            for sample in contents.samples {
                segment.lastSequence = sample.sequence
                segment.records += 1
                // Overlapping segments cannot be written by this code; if found, the first copy wins.
                guard sample.sequence > spool.highestSequence else { continue }
                spool.highestSequence = sample.sequence
                guard sample.sequence > acknowledged else { continue }
                kept.append(sample)
                if kept.count >= 2 * keep {
                    leaveOnDisk(kept.prefix(kept.count - keep))
                    kept.removeFirst(kept.count - keep)
                }
            }
            spool.segments.append(segment)
        }
        if kept.count > keep {
            leaveOnDisk(kept.prefix(kept.count - keep))
            kept.removeFirst(kept.count - keep)
        }
        // Numbering still goes on above a disbelieved watermark (short of the ceiling, which would end
        // the session with its samples): it may have been the gateway's honest claim (a welcome above
        // our numbering), and numbers it holds would make new samples look like duplicates.
        if let distrusted, distrusted < SpoolFormat.maximumSequence {
            spool.highestSequence = max(spool.highestSequence, distrusted)
        }
        try spool.deleteAcknowledgedSegments(keepingNewest: false)
        // At the ceiling no segment can follow: the agent starts a new session before its next sample.
        // A segment that cannot be started (a full disk, say) must not stop the agent: what the spool
        // holds is replayed all the same, new samples stay in memory (logged once), and the next
        // append tries again: delivering the spool may be what frees the space.
        if spool.highestSequence < SpoolFormat.maximumSequence {
            do throws(SpoolError) {
                try spool.rotate(firstSequence: spool.highestSequence + 1)
            } catch {
                spool.report(error)
            }
        }
        let recovery = Recovery(
            session: session, resumed: !headers.isEmpty || watermark != nil, acknowledged: acknowledged,
            highestSequence: spool.highestSequence, unacknowledged: kept, notKept: notKept,
            notKeptRanges: notKeptRanges)
        return (spool, recovery)
    }

    /// The highest sequence a segment accounts for: its last intact record, or the one before its
    /// first if it has none; `nil` if it cannot be read.
    private static func highestSequence(in path: String, first: UInt64) -> UInt64? {
        guard let bytes = try? DurableFiles.readFile(path), let contents = try? SpoolSegmentReader.read(bytes[...])
        else { return nil }
        return contents.samples.last?.sequence ?? (first > 0 ? first - 1 : 0)
    }

    /// Deletes a file the agent did not write, or says why it cannot (a directory planted under a
    /// segment's name): neither stops the agent from starting, which runs from memory if its next
    /// segment cannot be written.
    private static func removeOrLeave(_ path: String, because reason: String, logger: Logger) {
        let why = "spool: \(reason); "
        do throws(SpoolError) {
            try DurableFiles.removeFile(path)
            logger.warning("\(why)file deleted", metadata: ["file": "\(path)"])
        } catch {
            logger.error("\(why)cannot delete it (\(error)): left alone", metadata: ["file": "\(path)"])
        }
    }

    /// Writes `sample` (numbered above every earlier one) to the newest segment, and syncs it as
    /// the policy says. Failures are logged (once until writing works again), not thrown: the
    /// sample still lives in memory, as it would without a spool. Returns whether it was written.
    @discardableResult
    package func append(_ sample: Sample) -> Bool {
        guard sample.sequence > highestSequence else {
            logger.error("spool: sample \(sample.sequence) is not above \(highestSequence); not spooled")
            return false
        }
        guard sample.sequence <= SpoolFormat.maximumSequence else {
            logger.error("spool: sample \(sample.sequence) is above 2^63, the most a spool numbers; not spooled")
            return false
        }
        let record = SpoolFormat.record(sample)
        // Written counts, even if the sync below fails: the record is in the file to be read back.
        var written = false
        do throws(SpoolError) {
            if active < 0
                || (segments[segments.count - 1].bytes + record.count > segmentBytes
                    && segments[segments.count - 1].records > 0)
            {
                try rotate(firstSequence: sample.sequence)
            }
            dropOldestSegments(toFit: record.count)
            let index = segments.count - 1
            let path = directory + "/" + segments[index].name
            do throws(SpoolError) {
                try DurableFiles.writeAll(active, record, path: path)
            } catch {
                // Never leave a partial record in the middle of a segment: cut back to the last good
                // one, or stop using this segment if even that fails.
                if ftruncate(active, off_t(segments[index].bytes)) != 0 {
                    Glibc.close(active)
                    active = -1
                }
                throw error
            }
            segments[index].bytes += record.count
            segments[index].records += 1
            segments[index].lastSequence = sample.sequence
            highestSequence = sample.sequence
            written = true
            unsynced = true
            switch fsyncPolicy {
            case .always: try sync()
            case .every(let period) where ContinuousClock.now - lastSync >= period: try sync()
            default: break
            }
            if case .recovered(let failures)? = failureLog.succeeded(now: .now) {
                logger.notice("spool: writing again, after \(failures) failed writes")
            }
        } catch {
            report(error)
        }
        return written
    }

    /// Records that the gateway holds every sample up to `sequence`: moves the watermark and
    /// deletes the segments it now covers entirely.
    /// `session`, when given, is the session the acknowledgement belongs to: one of a session the spool
    /// has left (``startNewSession(_:)``) says nothing about the current numbering and is ignored.
    package func acknowledge(upTo sequence: UInt64, session: String? = nil) {
        guard sequence > acknowledged, session == nil || session == self.session else { return }
        // The agent checks acks against what it sent; a number no spool can hold is refused here too,
        // so that the watermark can never make the next start number past 2^63.
        guard sequence <= SpoolFormat.maximumSequence else {
            logger.error("spool: acknowledgement \(sequence) is above 2^63; not recorded")
            return
        }
        acknowledged = sequence
        // Above our own numbering only when a power loss lost the spool's tail after the gateway had
        // those samples: number on from there, so that new samples are not taken for duplicates.
        highestSequence = max(highestSequence, sequence)
        // Segments first: on a full disk the watermark cannot be written until they are gone. Deleting
        // them before it is safe: the newest segment is kept, and its header carries the numbering on.
        do throws(SpoolError) { try deleteAcknowledgedSegments(keepingNewest: true) } catch { report(error) }
        do throws(SpoolError) {
            try DurableFiles.replace(
                directory + "/" + SpoolWatermark.fileName,
                with: SpoolWatermark(session: self.session, sequence: sequence).encoded, durable: false)
        } catch {
            report(error)
        }
    }

    /// Replaces the spool's session with `newSession`, numbered from 1: for numbering that would pass
    /// 2^63 (``SpoolFormat/maximumSequence``). Every segment and the watermark belong to the old session
    /// and are deleted; returns how many of their samples were never acknowledged (lost with it).
    @discardableResult
    package func startNewSession(_ newSession: String) -> Int {
        let lost = segments.reduce(0) { $0 + undelivered(in: $1) }
        close()
        let old = session
        do throws(SpoolError) {
            for segment in segments { try DurableFiles.removeFile(directory + "/" + segment.name) }
            segments = []
            try DurableFiles.removeFile(directory + "/" + SpoolWatermark.fileName)
        } catch {
            report(error)
        }
        segments = []
        readCache = nil
        session = newSession
        acknowledged = 0
        highestSequence = 0
        logger.notice(
            "spool: session \(old) has numbered up to 2^63, the most a spool numbers: new session \(newSession), numbering from 1; \(lost) samples of the old session not delivered",
            metadata: ["dropped": "\(lost)"])
        do throws(SpoolError) { try rotate(firstSequence: 1) } catch { report(error) }
        return lost
    }

    /// The spooled samples numbered after `sequence` and at most `last`, in order, at most `limit`
    /// of them: what the agent's memory window no longer holds. Reads the segment files (the
    /// last one read is kept decoded, as the writer usually asks for its next part). Samples the
    /// spool deleted or lost are simply not there.
    package func samples(after sequence: UInt64, through last: UInt64, limit: Int) -> [Sample] {
        var result: [Sample] = []
        for segment in segments where result.count < limit {
            guard let segmentLast = segment.lastSequence, segmentLast > sequence,
                segment.firstSequence <= last
            else { continue }
            let samples = decodedSamples(of: segment)
            var low = 0
            var high = samples.count
            while low < high {
                let middle = (low + high) / 2
                if samples[middle].sequence <= sequence { low = middle + 1 } else { high = middle }
            }
            for sample in samples[low...] {
                guard sample.sequence <= last, result.count < limit else { break }
                result.append(sample)
            }
        }
        return result
    }

    private func decodedSamples(of segment: Segment) -> [Sample] {
        if let cached = readCache, cached.name == segment.name, cached.bytes == segment.bytes {
            return cached.samples
        }
        let path = directory + "/" + segment.name
        do throws(SpoolError) {
            let bytes = try DurableFiles.readFile(path, limit: segment.bytes)
            let samples = (try? SpoolSegmentReader.read(bytes[...]))?.samples ?? []
            readCache = (segment.name, segment.bytes, samples)
            return samples
        } catch {
            report(error)
            return []
        }
    }

    /// For a periodic policy: syncs what was appended if the period has passed. Called from the
    /// agent's housekeeping loop so that the last sample of a burst does not wait for the next.
    package func syncIfDue() {
        guard unsynced, case .every(let period) = fsyncPolicy, ContinuousClock.now - lastSync >= period else { return }
        do throws(SpoolError) { try sync() } catch { report(error) }
    }

    /// Syncs (unless the policy is `never`) and closes the newest segment.
    package func close() {
        guard active >= 0 else { return }
        if unsynced, fsyncPolicy != .never { _ = fsync(active) }
        Glibc.close(active)
        active = -1
    }

    /// Bytes in the spool's segments.
    var totalBytes: Int { segments.reduce(0) { $0 + $1.bytes } }

    /// Number of segment files.
    var segmentCount: Int { segments.count }

    /// Segments are named after their first sequence.
    private static let segmentFiles = SegmentFileName(prefix: "seg")

    static func segmentName(_ firstSequence: UInt64) -> String { segmentFiles.name(firstSequence) }

    static func segmentSequence(_ name: String) -> UInt64? { segmentFiles.number(name) }

    private func sync() throws(SpoolError) {
        guard active >= 0 else { return }
        try DurableFiles.sync(active, path: directory + "/" + (segments.last?.name ?? ""))
        unsynced = false
        lastSync = .now
    }

    /// Starts a new segment whose first record will be `firstSequence`. Its header is written to a
    /// temporary file and renamed into place, so a crash mid-rotation leaves either no new segment
    /// or an empty one, both harmless on the next start.
    private func rotate(firstSequence: UInt64) throws(SpoolError) {
        let name = Self.segmentName(firstSequence)
        let path = directory + "/" + name
        let durable = fsyncPolicy != .never
        let header = SpoolFormat.header(session: session, firstSequence: firstSequence)
        try DurableFiles.replace(path, with: header, durable: durable)
        if durable { try DurableFiles.syncDirectory(directory) }
        let descriptor = try DurableFiles.openForAppend(path)
        close()
        active = descriptor
        // A rotation retried after a failed write may replace an empty segment of the same name.
        if segments.last?.name == name { segments.removeLast() }
        segments.append(
            Segment(name: name, firstSequence: firstSequence, lastSequence: nil, records: 0, bytes: header.count))
    }

    private func dropOldestSegments(toFit bytes: Int) {
        var total = totalBytes
        while total + bytes > maximumBytes, segments.count > 1 {
            let oldest = segments.removeFirst()
            total -= oldest.bytes
            let lost = undelivered(in: oldest)
            droppedCount += UInt64(lost)
            let path = directory + "/" + oldest.name
            logger.warning(
                "spool: over spool-max-size (\(ByteSize.render(maximumBytes))), deleted \(oldest.name) with \(lost) samples not delivered",
                metadata: ["file": "\(path)", "dropped": "\(droppedCount)"])
            do throws(SpoolError) { try DurableFiles.removeFile(path) } catch { report(error) }
        }
    }

    private func deleteAcknowledgedSegments(keepingNewest: Bool) throws(SpoolError) {
        let candidates = keepingNewest ? segments.count - 1 : segments.count
        var index = 0
        var examined = 0
        while examined < candidates {
            examined += 1
            guard undelivered(in: segments[index]) == 0 else {
                index += 1
                continue
            }
            try DurableFiles.removeFile(directory + "/" + segments[index].name)
            segments.remove(at: index)
        }
    }

    private func undelivered(in segment: Segment) -> Int {
        guard let last = segment.lastSequence, last > acknowledged else { return 0 }
        guard acknowledged >= segment.firstSequence else { return segment.records }
        return min(segment.records, Int(clamping: last - acknowledged))
    }

    /// Failed writes and reads since the agent started (each logged or not, see ``SpoolFailureLog``).
    package var failedWrites: UInt64 { failureLog.failedWrites }

    private func report(_ error: SpoolError) {
        guard case .failing(let text)? = failureLog.failed(error.description, now: .now) else { return }
        logger.error(
            "spool: \(text); samples are kept in memory only until writing works again (said once, not per sample)")
    }
}
