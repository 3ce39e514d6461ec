import Foundation

/// A minimal blocking HTTP/1.1 client over a loopback socket: enough to scrape /metrics and
/// to send the malformed requests a library client would refuse to send.
enum HTTPClient {
    struct Response {
        var status: Int
        var headers: [String: String]
        var body: String
    }

    static func get(port: Int, path: String, method: String = "GET") throws -> Response {
        try exchange(port: port, request: "\(method) \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    }

    static func exchange(port: Int, request: String) throws -> Response {
        let socket = try LoopbackSocket(port: port)
        defer { socket.close() }
        try socket.send(Array(request.utf8))
        let raw = String(decoding: try socket.receiveAll(), as: UTF8.self)
        guard let split = raw.range(of: "\r\n\r\n") else { throw E2EError("no HTTP header end in: \(raw.prefix(200))") }
        let headLines = raw[..<split.lowerBound].split(separator: "\r\n")
        guard let statusLine = headLines.first, statusLine.split(separator: " ").count >= 2,
            let status = Int(statusLine.split(separator: " ")[1])
        else { throw E2EError("bad status line in: \(raw.prefix(200))") }
        var headers: [String: String] = [:]
        for line in headLines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces)
        }
        return Response(status: status, headers: headers, body: String(raw[split.upperBound...]))
    }
}

/// A TCP connection to 127.0.0.1 with plain POSIX calls.
final class LoopbackSocket {
    private var fd: Int32
    var descriptor: Int32 { fd }

    /// `receiveBuffer` shrinks the kernel's receive buffer, to make a peer's writes back up.
    init(port: Int, receiveBuffer: Int32? = nil) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw E2EError("socket: \(errno)") }
        if var size = receiveBuffer {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            Glibc.close(fd)
            throw E2EError("connect to 127.0.0.1:\(port): errno \(errno)")
        }
    }

    func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { throw E2EError("send: errno \(errno)") }
            offset += n
        }
    }

    /// Reads until the peer closes (or the 10 s receive timeout passes).
    func receiveAll(limit: Int = 64 << 20) throws -> [UInt8] {
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while result.count < limit {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n <= 0 { break }
            result.append(contentsOf: chunk[0..<n])
        }
        return result
    }

    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    deinit { close() }
}
