import GatewayConfig
import GatewayKit
import Logging
import MonitorConfig
import ServiceLifecycle
import Testing

/// The gateway gives back the pages of code that starting ran, once, after it settled (issue 14:
/// at 10,000 agents about 7 MiB of the binary's text that the steady state never runs).
@Suite struct GatewayPageReleaseTests {
    @Test func startingCodeGoesBackOnceAfterTheDelay() async throws {
        var configuration = GatewayConfiguration()
        configuration.listen = HostPort(host: "127.0.0.1", port: 0)
        configuration.metricsListen = HostPort(host: "127.0.0.1", port: 0)
        let log = LogCapture()
        var logger = log.logger
        logger.logLevel = .debug
        let (ready, readyContinuation) = AsyncStream.makeStream(of: GatewayService.Addresses.self)
        let service = GatewayService(
            configuration: configuration, configurationPath: nil, logger: logger,
            pageReleaseDelay: .seconds(2), onReady: { readyContinuation.yield($0) })
        let group = ServiceGroup(services: [service], logger: Logger(label: "page-release-test"))
        let releases = { log.messages.filter { $0.contains("pages of code that ran once given back") } }
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            var iterator = ready.makeAsyncIterator()
            #expect(await iterator.next() != nil)
            try await Task.sleep(for: .milliseconds(1200))
            #expect(releases().isEmpty, "released before the delay: \(releases())")
            let end = ContinuousClock.now + .seconds(10)
            while releases().isEmpty, ContinuousClock.now < end { try await Task.sleep(for: .milliseconds(100)) }
            #expect(releases().count == 1)
            // The advised size is the code mappings': this test binary's text is megabytes.
            #expect(releases().first.map { !$0.contains("(0 MiB") } == true, "\(releases())")
            try await Task.sleep(for: .seconds(3))
            #expect(releases().count == 1, "released more than once without a reload: \(releases())")
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
        }
    }
}
