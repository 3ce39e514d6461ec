extension DaemonControl {
    /// Where signals become ``Event``s for ``run(events:notifier:hooks:)``, merged so that a burst
    /// of SIGHUPs cannot queue up work (outside audit 4, finding 13).
    ///
    /// At most one reload waits: a SIGHUP that arrives while a reload is waiting or running leads
    /// to at most one more, which reads the file as it is by then, so nothing a SIGHUP asked for is
    /// lost. A shutdown takes the place of a waiting reload and ends the stream: it is acted on as
    /// soon as the reload in progress (if any) is done, however many SIGHUPs came before it.
    package struct Requests: Sendable {
        private let continuation: AsyncStream<Event>.Continuation

        /// The stream `run` reads, and the requests that feed it.
        package static func make() -> (events: AsyncStream<Event>, requests: Requests) {
            // One buffered event at most: a newer one replaces it (a reload another reload, a
            // shutdown a reload); the loop takes the next one only when it is done with the last.
            let (events, continuation) = AsyncStream.makeStream(of: Event.self, bufferingPolicy: .bufferingNewest(1))
            return (events, Requests(continuation: continuation))
        }

        /// SIGHUP.
        package func reload() {
            continuation.yield(.reload)
        }

        /// SIGTERM or SIGINT: requests after it are ignored.
        package func shutdown() {
            continuation.yield(.shutdown)
            continuation.finish()
        }

        /// Ends the stream without a shutdown event (the daemon's `run` is over).
        package func finish() {
            continuation.finish()
        }
    }
}
