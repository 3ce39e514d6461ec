#if canImport(Glibc)
    import Glibc
#endif

/// The wire side of the `sd_notify` protocol: one datagram on an `AF_UNIX` socket.
///
/// `sd_notify` itself always reads `NOTIFY_SOCKET` from the process environment, so a notifier
/// built from an explicit environment (tests, a future supervisor that hands sockets around)
/// could not honour its own address. Sending the datagram here keeps the environment passed to
/// `SystemdNotifier` authoritative, needs no `setenv` (which races with every `getenv` in other
/// threads), and behaves as `sd_notify(0, ...)` does: a path or an abstract `@name`, credentials
/// attached by the kernel because systemd's socket has `SO_PASSCRED`, `MSG_NOSIGNAL`.
enum NotifyDatagram {
    /// Sends `message` to `address` (`/path` or `@abstract`); returns whether the kernel took it.
    static func send(_ message: String, to address: String) -> Bool {
        guard var socketAddress = SocketAddress(address) else { return false }
        let descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }

        var payload = message
        return payload.withUTF8 { bytes in
            withUnsafePointer(to: &socketAddress.storage) { storage in
                storage.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic in
                    while true {
                        let sent = sendto(
                            descriptor, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL), generic,
                            socketAddress.length)
                        if sent >= 0 { return sent == bytes.count }
                        if errno != EINTR { return false }
                    }
                }
            }
        }
    }

    /// A `sockaddr_un` for a `NOTIFY_SOCKET` value, built the way systemd parses it.
    struct SocketAddress {
        var storage = sockaddr_un()
        var length: socklen_t = 0

        /// `nil` for anything systemd 252 would not accept: empty, relative, too long, or a
        /// path with an embedded NUL (which would silently name a different file).
        init?(_ address: String) {
            var bytes = Array(address.utf8)
            guard let first = bytes.first else { return nil }
            let isAbstract = first == UInt8(ascii: "@")
            guard isAbstract || first == UInt8(ascii: "/") else { return nil }
            let capacity = MemoryLayout.size(ofValue: storage.sun_path)
            if isAbstract {
                // Abstract names are length-delimited: the leading NUL marks them, no terminator.
                bytes[0] = 0
                guard bytes.count <= capacity else { return nil }
            } else {
                guard !bytes.contains(0), bytes.count < capacity else { return nil }
            }
            guard let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \sockaddr_un.sun_path) else { return nil }
            storage.sun_family = sa_family_t(AF_UNIX)
            withUnsafeMutableBytes(of: &storage.sun_path) { path in
                path.copyBytes(from: bytes)
            }
            length = socklen_t(pathOffset + bytes.count + (isAbstract ? 0 : 1))
        }
    }
}
