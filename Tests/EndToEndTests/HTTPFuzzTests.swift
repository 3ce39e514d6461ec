import Foundation
import TestSupport
import Testing

/// Mutation fuzzing of the HTTP port, against the live daemon: valid requests mutated by bit
/// flips, byte insertions and deletions, truncation and splicing, each on its own connection.
/// (The request parser is NIOHTTP1's, which SwiftNIO fuzzes upstream; this checks monitord's use
/// of it: no crash, no hang, an answer or a close for every input, and a healthy server after.)
@Suite("HTTP fuzzing")
struct HTTPFuzzTests {
    static let seeds = [
        "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\nAccept: text/html\r\n\r\n",
        "HEAD /api/v1/agents?x=1 HTTP/1.0\r\n\r\n",
        "POST /metrics HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
        "GET /metrics HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",
    ].map { Array($0.utf8) }

    static func mutate(_ input: [UInt8], using generator: inout SeededGenerator) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...8, using: &generator) {
            let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &generator)
            switch Int.random(in: 0..<7, using: &generator) {
            case 0 where !bytes.isEmpty: bytes[position] ^= UInt8(1 << Int.random(in: 0..<8, using: &generator))
            case 1: bytes.insert(UInt8.random(in: 0...255, using: &generator), at: position)
            case 2 where !bytes.isEmpty: bytes.remove(at: position)
            case 3: bytes.insert(contentsOf: Array("\r\n".utf8), at: position)
            case 4: bytes = Array(bytes.prefix(position))
            case 5:
                let other = seeds[Int.random(in: 0..<seeds.count, using: &generator)]
                bytes.insert(contentsOf: other, at: position)
            default:
                bytes.insert(
                    contentsOf: [UInt8](
                        repeating: UInt8(ascii: "A"), count: Int.random(in: 1...20_000, using: &generator)),
                    at: position)
            }
        }
        return bytes
    }

    @Test("2,000 mutated requests: every one answered or closed, the server healthy after")
    func mutatedRequests() async throws {
        try await withGateway { gateway in
            var generator = SeededGenerator(seed: 0x4854_5450)
            var answered = 0
            var closed = 0
            for index in 0..<2000 {
                let input = Self.mutate(Self.seeds[index % Self.seeds.count], using: &generator)
                let socket = try LoopbackSocket(port: gateway.metricsPort)
                try? socket.send(input)
                // Half-close so a request the parser still waits on ends, as a client giving up would.
                shutdown(socket.descriptor, Int32(SHUT_WR))
                let reply = (try? socket.receiveAll(limit: 1 << 20)) ?? []
                socket.close()
                if reply.starts(with: Array("HTTP/1.".utf8)) { answered += 1 } else { closed += 1 }
                #expect(gateway.process.process.isRunning, "monitord died on input \(index): \(input.prefix(200))")
                if !gateway.process.process.isRunning { return }
            }
            print(
                "FIGURE HTTP fuzzing: 2000 mutated requests, \(answered) answered, \(closed) closed without an answer")
            let page = try gateway.metrics()
            #expect(page.text.contains("monitord_build_info"))
            #expect(try Promtool.complaints(page.text).allSatisfy { $0 == Promtool.acceptedComplaint })
        }
    }
}
