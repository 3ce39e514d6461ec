import Foundation

/// A scripted peer on the gateway's agent (or HTTP) port: it sends exactly the bytes a test
/// chooses, when it chooses, and reads the gateway's answers line by line with deadlines, so a
/// gateway that neither answers nor closes shows up as a hang instead of blocking the test.
final class HostilePeer {
    /// What became of a connection once the script ended.
    enum Ending: Equatable {
        /// The gateway closed the connection (after its answers, if any).
        case closed
        /// The deadline passed with the connection still open and nothing more said: a hang.
        case hung
    }

    private let socket: LoopbackSocket
    private var pending: [UInt8] = []
    /// Every line the gateway sent, in order.
    private(set) var lines: [String] = []

    init(port: Int) throws {
        socket = try LoopbackSocket(port: port)
    }

    var descriptor: Int32 { socket.descriptor }

    func send(_ bytes: [UInt8]) throws { try socket.send(bytes) }

    func send(line text: String) throws { try socket.send(Array(text.utf8) + [10]) }

    /// Sends `bytes` one at a time, `gap` apart; stops early (without throwing) once the gateway has closed.
    func trickle(_ bytes: [UInt8], gap: Duration) async {
        for byte in bytes {
            guard (try? socket.send([byte])) != nil else { return }
            if readAvailable(timeout: 0) == .closed { return }
            try? await Task.sleep(for: gap)
        }
    }

    /// Ends the peer's sending side: a gateway that reads to the end must then close.
    func finishSending() { shutdown(socket.descriptor, Int32(SHUT_WR)) }

    /// The next line from the gateway, or nil if none came within `timeout` seconds (or it closed).
    func nextLine(timeout: Double) -> String? {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            if let line = takeLine() { return line }
            let left = deadline.timeIntervalSinceNow
            guard left > 0, readAvailable(timeout: left) == .data else { return takeLine() }
        }
    }

    /// Reads (and keeps) everything until the gateway closes, or says it hung after `timeout` seconds.
    func waitForClose(timeout: Double) -> Ending {
        let deadline = Date().addingTimeInterval(timeout)
        while true {
            let left = deadline.timeIntervalSinceNow
            guard left > 0 else { return .hung }
            switch readAvailable(timeout: left) {
            case .closed:
                while takeLine() != nil {}
                return .closed
            case .data: continue
            case .nothing: return .hung
            }
        }
    }

    /// Every line received so far (including those not yet taken by ``nextLine(timeout:)``).
    var everything: [String] {
        while takeLine() != nil {}
        return lines
    }

    func close() { socket.close() }

    private enum ReadResult { case data, closed, nothing }

    private func readAvailable(timeout: Double) -> ReadResult {
        var descriptor = pollfd(fd: socket.descriptor, events: Int16(POLLIN), revents: 0)
        let ready = poll(&descriptor, 1, Int32(max(0, timeout * 1000)))
        guard ready > 0 else { return .nothing }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let count = chunk.withUnsafeMutableBytes { recv(socket.descriptor, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return .closed }
        pending.append(contentsOf: chunk[0..<count])
        return .data
    }

    private func takeLine() -> String? {
        guard let newline = pending.firstIndex(of: 10) else { return nil }
        let line = String(decoding: pending[..<newline], as: UTF8.self)
        pending.removeSubrange(...newline)
        lines.append(line)
        return line
    }
}

/// The lines of the native protocol a hostile peer sends, with any field replaced by raw JSON text.
enum HostileMessages {
    static func hello(
        agent: String = "\"hostile\"", session: String = "\"0123456789abcdef\"", protocolVersion: String = "1",
        version: String = "\"6.6.6\"", extra: String = ""
    ) -> String {
        #"{"type":"hello","protocol":\#(protocolVersion),"agent":\#(agent),"version":\#(version),"session":\#(session)\#(extra)}"#
    }

    static func sample(
        seq: String = "1", ts: String? = nil, ram: String = "50", cpu: String = "5", gib: String = "0.01",
        interrupts: String = "1000"
    ) -> String {
        let time = ts ?? String(Date().timeIntervalSince1970)
        return
            #"{"type":"sample","seq":\#(seq),"ts":\#(time),"ram_percent":\#(ram),"cpu_percent":\#(cpu),"process_ram_gib":\#(gib),"interrupts":\#(interrupts)}"#
    }

    /// The sequence a gateway's ack line acknowledges (0 for a keepalive), or nil for any other line.
    static func acknowledgedSequence(_ line: String) -> Int? {
        let prefix = #"{"type":"ack","seq":"#
        guard line.hasPrefix(prefix), line.hasSuffix("}") else { return nil }
        return Int(line.dropFirst(prefix.count).dropLast())
    }

    static func reportFormat(
        ram: String = "58.4", cpu: String = "2.8", gib: String = "0.5", interrupts: String = "706148"
    )
        -> String
    {
        #"{"currentProccessRAM: ": \#(gib), "RAM usage: ": \#(ram), "CPU usage: ": \#(cpu), "CPU interrupts: ": \#(interrupts)}"#
    }

    /// A JSON string of `count` letters.
    static func longString(_ count: Int) -> String { "\"" + String(repeating: "x", count: count) + "\"" }
}
