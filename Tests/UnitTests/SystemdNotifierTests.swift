import Glibc
import Testing

@testable import MonitorSystem

@Suite struct SystemdNotifierTests {
    @Test func readyArrivesWithAndWithoutStatus() throws {
        let listener = try SystemdNotifyListener()
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": listener.address])
        #expect(notifier.isEnabled)
        notifier.ready(status: nil)
        #expect(listener.receive() == "READY=1")
        notifier.ready(status: "listening on 0.0.0.0:5578")
        #expect(listener.receive() == "READY=1\nSTATUS=listening on 0.0.0.0:5578")
    }

    @Test func statusIsOneLine() throws {
        let listener = try SystemdNotifyListener()
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": listener.address])
        notifier.status("3 agents up")
        #expect(listener.receive() == "STATUS=3 agents up")
        notifier.status("two\nlines\r\nhere")
        let message = listener.receive()
        #expect(message?.hasPrefix("STATUS=two") == true)
        #expect(message?.contains("\n") == false)
        #expect(message?.contains("\r") == false)
        notifier.ready(status: "a\nb")
        #expect(listener.receive() == "READY=1\nSTATUS=a b")
    }

    @Test func reloadingCarriesTheMonotonicClock() throws {
        let listener = try SystemdNotifyListener()
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": listener.address])
        let before = Self.monotonicMicroseconds()
        notifier.reloading()
        let after = Self.monotonicMicroseconds()
        let message = try #require(listener.receive())
        let lines = message.split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines.first == "RELOADING=1")
        let stamp = try #require(lines.last?.split(separator: "=", maxSplits: 1))
        #expect(stamp.first == "MONOTONIC_USEC")
        let value = try #require(stamp.last.flatMap { UInt64($0) })
        #expect(value >= before && value <= after)
    }

    @Test func stoppingAndWatchdogArrive() throws {
        let listener = try SystemdNotifyListener()
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": listener.address, "WATCHDOG_USEC": "2000000"])
        notifier.stopping()
        #expect(listener.receive() == "STOPPING=1")
        notifier.watchdog()
        #expect(listener.receive() == "WATCHDOG=1")
    }

    @Test func noWatchdogPingsUnlessSystemdWatchesThisProcess() throws {
        let listener = try SystemdNotifyListener()
        SystemdNotifier(environment: ["NOTIFY_SOCKET": listener.address]).watchdog()
        SystemdNotifier(environment: [
            "NOTIFY_SOCKET": listener.address, "WATCHDOG_USEC": "2000000", "WATCHDOG_PID": "1",
        ])
        .watchdog()
        #expect(listener.receive(within: 100) == nil)
    }

    @Test func abstractSocketNamesWork() throws {
        let listener = try SystemdNotifyListener(abstract: true)
        #expect(listener.address.hasPrefix("@"))
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": listener.address])
        notifier.status("abstract")
        #expect(listener.receive() == "STATUS=abstract")
    }

    @Test func theGivenEnvironmentIsAuthoritative() throws {
        let first = try SystemdNotifyListener()
        let second = try SystemdNotifyListener(abstract: true)
        SystemdNotifier(environment: ["NOTIFY_SOCKET": first.address]).status("first")
        SystemdNotifier(environment: ["NOTIFY_SOCKET": second.address]).status("second")
        #expect(first.receive() == "STATUS=first")
        #expect(second.receive() == "STATUS=second")
        #expect(first.receive(within: 50) == nil)
    }

    @Test(arguments: [[:], ["NOTIFY_SOCKET": ""]] as [[String: String]])
    func everythingIsANoOpWithoutASocket(environment: [String: String]) {
        let notifier = SystemdNotifier(environment: environment)
        #expect(!notifier.isEnabled)
        #expect(!notifier.send("READY=1"))
        notifier.ready(status: "x")
        notifier.status("x")
        notifier.reloading()
        notifier.stopping()
        notifier.watchdog()
        #expect(notifier.watchdogInterval == nil)
    }

    @Test(arguments: [
        "relative/path",
        "/nonexistent-dir-for-monitord-tests/notify",
        "/" + String(repeating: "x", count: 200),
        "@" + String(repeating: "x", count: 200),
        "/tmp/with\u{0}nul",
        "vsock:2:1234",
    ])
    func unusableAddressesFailQuietly(address: String) {
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": address])
        #expect(notifier.isEnabled)
        #expect(!notifier.send("READY=1"))
        notifier.ready(status: nil)
    }

    @Test func socketAddressLengthsFollowTheKernelRules() throws {
        let pathOffset = MemoryLayout<sa_family_t>.size
        let path = try #require(NotifyDatagram.SocketAddress("/run/n"))
        #expect(Int(path.length) == pathOffset + 6 + 1)
        let abstract = try #require(NotifyDatagram.SocketAddress("@n"))
        #expect(Int(abstract.length) == pathOffset + 2)
        let capacity = MemoryLayout.size(ofValue: sockaddr_un().sun_path)
        #expect(NotifyDatagram.SocketAddress("/" + String(repeating: "a", count: capacity - 2)) != nil)
        #expect(NotifyDatagram.SocketAddress("/" + String(repeating: "a", count: capacity - 1)) == nil)
        #expect(NotifyDatagram.SocketAddress("@" + String(repeating: "a", count: capacity - 1)) != nil)
        #expect(NotifyDatagram.SocketAddress("") == nil)
    }

    @Test func watchdogIntervalIsHalfTheTimeout() {
        let notifier = SystemdNotifier(environment: ["WATCHDOG_USEC": "30000000"])
        #expect(notifier.watchdogInterval == .seconds(15))
        #expect(SystemdNotifier(environment: ["WATCHDOG_USEC": "3"]).watchdogInterval == .microseconds(1))
    }

    @Test func watchdogRespectsWatchdogPID() {
        let own = String(getpid())
        let other = String(getpid() + 1)
        let mine = SystemdNotifier(environment: ["WATCHDOG_USEC": "5000000", "WATCHDOG_PID": own])
        #expect(mine.watchdogInterval == .milliseconds(2_500))
        let theirs = SystemdNotifier(environment: ["WATCHDOG_USEC": "5000000", "WATCHDOG_PID": other])
        #expect(theirs.watchdogInterval == nil)
        let garbled = SystemdNotifier(environment: ["WATCHDOG_USEC": "5000000", "WATCHDOG_PID": "12x"])
        #expect(garbled.watchdogInterval == nil)
    }

    @Test(arguments: ["", "0", "-5", "+5", " 5", "5s", "abc", "99999999999999999999999"])
    func malformedWatchdogTimeoutsDisableTheWatchdog(value: String) {
        #expect(SystemdNotifier(environment: ["WATCHDOG_USEC": value]).watchdogInterval == nil)
    }

    private static func monotonicMicroseconds() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000 + UInt64(now.tv_nsec) / 1_000
    }
}

/// A datagram socket standing in for systemd's notification socket in tests.
final class SystemdNotifyListener {
    let address: String
    private let descriptor: Int32
    private let directory: String?

    enum Failure: Error { case system(String, Int32) }

    /// Binds a fresh socket: a path in a new temporary directory, or an abstract name.
    init(abstract: Bool = false) throws {
        descriptor = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw Failure.system("socket", errno) }
        var name: [UInt8]
        if abstract {
            address = "@monitord-test-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
            directory = nil
            name = Array(address.utf8)
            name[0] = 0
        } else {
            var template = Array("/tmp/monitord-notify-XXXXXX".utf8CString)
            guard let created = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
                close(descriptor)
                throw Failure.system("mkdtemp", errno)
            }
            let path = String(cString: created)
            directory = path
            address = path + "/notify"
            name = Array(address.utf8)
        }
        var socketAddress = sockaddr_un()
        socketAddress.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &socketAddress.sun_path) { $0.copyBytes(from: name) }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + name.count + (abstract ? 0 : 1))
        let bound = withUnsafePointer(to: &socketAddress) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) }
        }
        guard bound == 0 else {
            let error = errno
            close(descriptor)
            throw Failure.system("bind", error)
        }
    }

    deinit {
        close(descriptor)
        if let directory {
            unlink(directory + "/notify")
            rmdir(directory)
        }
    }

    /// The next datagram, or `nil` when none arrives within `milliseconds`.
    func receive(within milliseconds: Int32 = 2_000) -> String? {
        var request = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
        guard poll(&request, 1, milliseconds) == 1 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 4_096)
        let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
        guard count >= 0 else { return nil }
        return String(decoding: buffer[..<count], as: UTF8.self)
    }
}
