package import NIOCore
import NIOPosix
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The write end of the pipe the signal handler writes to; -1 until ``SignalPipe/open`` made it.
/// An atomic, because the handler runs on whatever thread the kernel picked.
private let signalPipeWriteEnd = Atomic<Int32>(-1)

/// SIGHUP, SIGTERM and SIGINT as reads on an event loop: a `sigaction` handler writes the signal's
/// number into a pipe whose read end is a channel of that loop.
///
/// What the agent used before (swift-service-lifecycle's `UnixSignals`) delivers signals through
/// Dispatch sources, which keep Dispatch's threads and bring the async-algorithms package into
/// the binary; this needs neither, and a signal wakes only the loop.
package enum SignalPipe {
    /// The signals handled.
    package static let signals: [Int32] = [SIGHUP, SIGTERM, SIGINT]

    /// Installs the handler for ``signals`` and calls `deliver` on `eventLoop` with each signal's
    /// number as it arrives. From then on, none of them ends the process by itself.
    ///
    /// Once per process: the handler and its pipe stay until the process exits.
    package static func open(
        on eventLoop: any EventLoop, deliver: @escaping @Sendable (Int32) -> Void
    ) async throws -> any Channel {
        var ends: [Int32] = [-1, -1]
        guard pipe(&ends) == 0 else { throw IOError(errnoCode: errno, reason: "pipe") }
        // Not inherited by what the agent might start; the handler must never block on a full pipe
        // (NIO makes the read end non-blocking itself).
        _ = fcntl(ends[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(ends[1], F_SETFD, FD_CLOEXEC)
        _ = fcntl(ends[1], F_SETFL, O_NONBLOCK)
        let channel: any Channel
        do {
            channel = try await NIOPipeBootstrap(group: eventLoop)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(SignalReader(deliver: deliver))
                    }
                }
                .takingOwnershipOfDescriptor(input: ends[0])
                .get()
        } catch {
            close(ends[0])
            close(ends[1])
            throw error
        }
        signalPipeWriteEnd.store(ends[1], ordering: .sequentiallyConsistent)
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { signal in
            // Async-signal-safe: an atomic load and write(2). A full pipe (65,536 pending signals)
            // drops the signal, as the kernel itself merges pending ones.
            var number = UInt8(truncatingIfNeeded: signal)
            let saved = errno
            _ = write(signalPipeWriteEnd.load(ordering: .relaxed), &number, 1)
            errno = saved
        }
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_RESTART
        for signal in signals {
            guard sigaction(signal, &action, nil) == 0 else { throw IOError(errnoCode: errno, reason: "sigaction") }
        }
        return channel
    }
}

/// Reads signal numbers from the pipe.
private final class SignalReader: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let deliver: @Sendable (Int32) -> Void

    init(deliver: @escaping @Sendable (Int32) -> Void) {
        self.deliver = deliver
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let bytes = unwrapInboundIn(data)
        for byte in bytes.readableBytesView { deliver(Int32(byte)) }
    }
}
