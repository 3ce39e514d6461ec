import DaemonKit
import Foundation
import NIOCore
import NIOPosix
import TestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Audit 13, F4: a refused connection was logged as "connection reset (error set): Connection
/// refused) (errno: 111)", and remote write's as "Connection errors: SingleConnectionFailure(…)".
@Suite("Failed connections in the log: what the system said")
struct NetworkErrorTextTests {
    func failure(_ connect: (ClientBootstrap) async throws -> any Channel) async -> (any Error)? {
        do {
            let channel = try await connect(ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton))
            try? await channel.close()
            return nil
        } catch {
            return error
        }
    }

    @Test("a refused connection, by address and by host name")
    func refused() async throws {
        let port = try freeLoopbackPort()
        let byAddress = try #require(
            await failure { try await $0.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: port)).get() })
        #expect(NetworkErrorText.describe(byAddress) == "connection refused", "\(byAddress)")
        let byName = try #require(await failure { try await $0.connect(host: "127.0.0.1", port: port).get() })
        #expect(NetworkErrorText.describe(byName) == "connection refused (127.0.0.1:\(port))", "\(byName)")
    }

    @Test("other errors keep their own text; a system message keeps its capitals past the first word")
    func others() {
        #expect(NetworkErrorText.describe(ChannelError.connectTimeout(.seconds(5))) == "no answer within 5.0 s")
        let unreachable = IOError(errnoCode: ENETUNREACH, reason: "connect")
        #expect(NetworkErrorText.describe(unreachable) == "network is unreachable")
        struct Custom: Error, CustomStringConvertible { var description: String { "HTTP 500 from the receiver" } }
        #expect(NetworkErrorText.describe(Custom()) == "HTTP 500 from the receiver")
    }
}
