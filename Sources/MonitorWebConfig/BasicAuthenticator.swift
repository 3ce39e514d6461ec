import Foundation  // base64 only; Yams links Foundation into monitord anyway.
import NIOPosix
import Synchronization

/// Checks `Authorization: Basic` against `basic_auth_users`.
///
/// bcrypt is slow on purpose, and Prometheus presents the same password every scrape, so a password
/// that verified is remembered: one per user, the last one that verified, compared in constant time.
/// Wrong passwords are never remembered, so the cache holds at most one entry per configured user
/// whatever clients send. bcrypt itself runs on NIO's blocking thread pool, never on an event loop,
/// and at most ``maximumConcurrentChecks`` at once: a client trying passwords gets 503 beyond that
/// instead of queueing work without bound, while a scraper whose password is cached is not slowed.
final class BasicAuthenticator: Sendable {
    /// Longer `Authorization` values are refused unread: a Basic credential of a 72-byte password
    /// and a reasonable user name is far shorter.
    static let maximumHeaderBytes = 1024
    static let maximumConcurrentChecks = 2

    enum Verdict: Equatable {
        case allowed
        /// Missing, malformed or wrong credentials: 401.
        case denied(String)
        /// Too many bcrypt checks already running: 503.
        case busy
    }

    private let users: [String: BcryptHash]
    /// The hash checked for an unknown user, so that the answer takes as long as for a known one.
    private let decoy: BcryptHash?
    private let verified: Mutex<[String: [UInt8]]> = Mutex([:])
    private let running = Atomic<Int>(0)
    private let check: @Sendable ([UInt8], BcryptHash) -> Bool

    init(users: [String: BcryptHash], check: @escaping @Sendable ([UInt8], BcryptHash) -> Bool = Bcrypt.matches) {
        self.users = users
        self.decoy = users.values.max { $0.cost < $1.cost }
        self.check = check
    }

    /// Number of users whose password is cached (for tests of the bound).
    var cachedUsers: Int { verified.withLock { $0.count } }

    func verdict(authorization: String?) async -> Verdict {
        guard let authorization else { return .denied("no credentials") }
        guard authorization.utf8.count <= Self.maximumHeaderBytes else {
            return .denied("Authorization header too long")
        }
        guard let (user, password) = Self.credentials(authorization) else {
            return .denied("Authorization is not Basic with base64 user:password")
        }
        let known = users[user]
        if known != nil, let cached = verified.withLock({ $0[user] }), ConstantTime.equal(cached, password) {
            return .allowed
        }
        guard let hash = known ?? decoy else { return .denied("unknown user") }
        guard admit() else { return .busy }
        defer { running.subtract(1, ordering: .relaxed) }
        let check = self.check
        let matches = (try? await NIOThreadPool.singleton.runIfActive { check(password, hash) }) ?? false
        guard known != nil, matches else { return .denied(known == nil ? "unknown user" : "wrong password") }
        verified.withLock { $0[user] = password }
        return .allowed
    }

    private func admit() -> Bool {
        while true {
            let now = running.load(ordering: .relaxed)
            guard now < Self.maximumConcurrentChecks else { return false }
            if running.compareExchange(expected: now, desired: now + 1, ordering: .relaxed).exchanged { return true }
        }
    }

    /// `Basic base64(user:password)`; the scheme name is case-insensitive (RFC 7617).
    static func credentials(_ header: String) -> (user: String, password: [UInt8])? {
        let parts = header.split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "basic",
            let decoded = Data(base64Encoded: String(parts[1].drop { $0 == " " }))
        else { return nil }
        let bytes = [UInt8](decoded)
        guard let colon = bytes.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        return (String(decoding: bytes[..<colon], as: UTF8.self), Array(bytes[(colon + 1)...]))
    }
}
