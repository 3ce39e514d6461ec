import Foundation

/// A gateway played by a script: a listening socket on 127.0.0.1 (port 0) that the real
/// `monitor-agent` connects to, and whose every byte the test writes by hand, so that it can lie,
/// stall, send garbage or hang up at any point of the conversation.
///
/// Non-blocking sockets polled with short sleeps: several scripted gateways run at once in one
/// test without tying up the cooperative thread pool.
final class ScriptedGateway: @unchecked Sendable {
    let port: Int
    private var listener: Int32

    init() throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw E2EError("socket: errno \(errno)") }
        var yes: Int32 = 1
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(listener, 16) == 0 else {
            Glibc.close(listener)
            throw E2EError("bind/listen: errno \(errno)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        _ = fcntl(listener, F_SETFL, fcntl(listener, F_GETFL) | O_NONBLOCK)
        self.listener = listener
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    /// The next connection from the agent, or nil if none arrives within `timeout` seconds.
    func accept(timeout: Double) async -> ScriptedConnection? {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let descriptor = Glibc.accept(listener, nil, nil)
            if descriptor >= 0 {
                _ = fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK)
                return ScriptedConnection(descriptor: descriptor)
            }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }

    /// Stops listening: the agent's next attempts are refused, as with a gateway that is down.
    func close() {
        if listener >= 0 { Glibc.close(listener) }
        listener = -1
    }

    deinit { close() }
}

/// One accepted connection of a ``ScriptedGateway``.
final class ScriptedConnection: @unchecked Sendable {
    private var descriptor: Int32
    private var pending: [UInt8] = []
    /// Set once the agent has closed its side (a read returned 0 or failed).
    private(set) var peerClosed = false

    init(descriptor: Int32) {
        self.descriptor = descriptor
    }

    /// Reads what is available without waiting; false once the agent has closed.
    private func pump() -> Bool {
        guard !peerClosed, descriptor >= 0 else { return false }
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                pending += chunk[0..<count]
                continue
            }
            if count < 0, errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR { return true }
            peerClosed = true
            return false
        }
    }

    /// The next `\n`-terminated line the agent sent (without the newline), or nil when the agent
    /// closes or nothing complete arrives within `timeout` seconds.
    func readLine(timeout: Double) async -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let newline = pending.firstIndex(of: 10) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                return line
            }
            guard pump() || pending.contains(10) else { return nil }
            if pending.contains(10) { continue }
            guard Date() < deadline else { return nil }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// The agent's hello line, or nil.
    func readHello(timeout: Double = 10) async -> String? {
        guard let line = await readLine(timeout: timeout), line.contains(#""type":"hello""#) else { return nil }
        return line
    }

    /// The sequence number of the agent's next sample, or nil.
    func readSample(timeout: Double = 10) async -> UInt64? {
        while let line = await readLine(timeout: timeout) {
            if let match = line.firstMatch(of: /"type":"sample","seq":(\d+)/) { return UInt64(match.1) }
        }
        return nil
    }

    /// Writes all of `bytes`, or as much as the agent takes within `timeout` seconds (an agent
    /// that stops reading must not hang the test). Returns whether everything went out.
    @discardableResult
    func send(_ bytes: [UInt8], timeout: Double = 5) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        var offset = 0
        while offset < bytes.count, descriptor >= 0 {
            let count = bytes[offset...].withUnsafeBytes {
                Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
            }
            if count > 0 {
                offset += count
                continue
            }
            guard count < 0, errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR, Date() < deadline else {
                return false
            }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return offset == bytes.count
    }

    /// Sends one byte as TCP urgent (out-of-band) data; whether the kernel took it.
    @discardableResult
    func sendUrgent(_ byte: UInt8) -> Bool {
        var value = byte
        return descriptor >= 0 && Glibc.send(descriptor, &value, 1, Int32(MSG_OOB | MSG_NOSIGNAL)) == 1
    }

    @discardableResult
    func send(_ text: String, timeout: Double = 5) async -> Bool {
        await send(Array(text.utf8), timeout: timeout)
    }

    /// Waits until the agent closes the connection; true if it did within `timeout` seconds.
    /// What it sends meanwhile is read and thrown away.
    func waitForPeerClose(timeout: Double) async -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if !pump() { return true }
            pending.removeAll(keepingCapacity: true)
            try? await Task.sleep(for: .milliseconds(10))
        }
        return !pump()
    }

    func close() {
        if descriptor >= 0 { Glibc.close(descriptor) }
        descriptor = -1
    }

    deinit { close() }
}
