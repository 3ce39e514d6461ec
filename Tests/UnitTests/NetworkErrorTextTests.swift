import DaemonKit
import Foundation
import NIOCore
import NIOPosix
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Audit 13, F4: a refused connection was logged as "connection reset (error set): Connection
/// refused) (errno: 111)", and remote write's as "Connection errors: SingleConnectionFailure(…)".
@Suite("Failed connections in the log: what the system said")
struct NetworkErrorTextTests {
    /// A loopback port nothing listens on: bound, then closed.
    func closedPort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                bind(descriptor, socketAddress, length) == 0 && getsockname(descriptor, socketAddress, &length) == 0
            }
        }
        try #require(bound)
        return Int(UInt16(bigEndian: address.sin_port))
    }

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
        let port = try closedPort()
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
