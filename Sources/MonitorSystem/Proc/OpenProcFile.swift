import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A `/proc` file kept open and read again from offset 0 with `pread`, into a buffer that is
/// reused from one read to the next.
///
/// The agent reads the same three files every sample: opening and closing them each time costs
/// two system calls and a path lookup per file, and reading them into fresh arrays costs
/// allocations. `/proc` files are generated when read, so a `pread` at offset 0 returns their
/// current contents. The descriptor is opened on first use (a missing file is reported then,
/// and again on every later try) and kept until the object goes away.
package final class OpenProcFile: Sendable {
    private struct State: ~Copyable {
        var descriptor: Int32 = -1
        var buffer: UnsafeMutableRawBufferPointer

        deinit {
            if descriptor >= 0 { _ = close(descriptor) }
            buffer.deallocate()
        }
    }

    package let path: String
    /// The largest size the buffer may grow to; a file larger than this is refused.
    package let limit: Int
    /// Guards `state`, which the parsers read in place while the lock is held.
    private let lock = Mutex(())
    private nonisolated(unsafe) var state: State

    package init(path: String, limit: Int = ProcFileReader.maximumFileBytes) {
        self.path = path
        self.limit = limit
        // 4 KiB holds /proc/meminfo and /proc/self/statm; /proc/stat of a large machine grows it once.
        self.state = State(buffer: .allocate(byteCount: min(4096, limit + 1), alignment: 1))
    }

    /// Runs `body` over the file's current contents.
    package func withContents<Result: Sendable>(
        _ body: (ProcText) throws(ProcFileError) -> Result
    ) throws(ProcFileError) -> Result {
        try lock.withLock { _ throws(ProcFileError) in
            if state.descriptor < 0 {
                state.descriptor = open(path, O_RDONLY | O_CLOEXEC)
                guard state.descriptor >= 0 else {
                    throw ProcFileError(file: path, message: "cannot read: \(BoundedFile.systemMessage(errno))")
                }
            }
            let length = try readWhole(&state)
            return try body(ProcText(UnsafeRawBufferPointer(rebasing: state.buffer[..<length])))
        }
    }

    /// Reads the whole file with one `pread` at offset 0 into the buffer and returns its length.
    ///
    /// A read that does not fill the buffer has reached the end of the file: `/proc` files are
    /// generated whole on each read from offset 0, and a second read at the end would make the
    /// kernel generate them again (for `/proc/stat`, summing every CPU's counters) only to return
    /// nothing. A file that fills the buffer is read again from offset 0 into one twice as large,
    /// so that the contents always come from one generation.
    private func readWhole(_ state: inout State) throws(ProcFileError) -> Int {
        while true {
            let got = pread(state.descriptor, state.buffer.baseAddress!, state.buffer.count, 0)
            if got < 0 {
                if errno == EINTR { continue }
                throw ProcFileError(file: path, message: "cannot read: \(BoundedFile.systemMessage(errno))")
            }
            if got < state.buffer.count { return got }
            guard state.buffer.count <= limit else {
                let size = limit % (1 << 20) == 0 ? "\(limit >> 20) MiB" : "\(limit) bytes"
                throw ProcFileError(file: path, message: "file is larger than \(size)")
            }
            let larger = UnsafeMutableRawBufferPointer.allocate(
                byteCount: min(state.buffer.count * 2, limit + 1), alignment: 1)
            state.buffer.deallocate()
            state.buffer = larger
        }
    }
}
