import Foundation  // base64 only; Yams links Foundation into monitord anyway.
import NIOPosix
import Synchronization

/// Checks `Authorization: Basic` against `basic_auth_users`.
///
/// bcrypt is slow on purpose, and Prometheus presents the same password every scrape, so a password
/// that verified is remembered (``VerifiedPasswords``: one per configured hash, the last one that
/// verified, compared in constant time, kept across reloads). Wrong passwords are never remembered,
/// so the memory holds at most one entry per configured user whatever clients send. bcrypt itself
/// runs on NIO's blocking thread pool, never on an event loop, and at most
/// ``maximumConcurrentChecks`` at once, handed out fairly among addresses (``PasswordCheckQueue``):
/// a client trying passwords gets 503 beyond its share instead of queueing work without bound, and
/// cannot keep a scraper at another address out.
final class BasicAuthenticator: Sendable {
    /// Longer `Authorization` values are refused unread: a Basic credential of a 72-byte password
    /// and a reasonable user name is far shorter.
    static let maximumHeaderBytes = 1024
    static let maximumConcurrentChecks = 2
    /// Checks one address may have running or waiting: Prometheus scrapes each path of a target once
    /// per interval, and a few targets of one Prometheus may share the gateway.
    static let checksPerAddress = 2
    /// Checks waiting for a slot, from all addresses together: at a few hundred milliseconds each,
    /// the last in line still gets its answer within a scrape timeout.
    static let maximumWaitingChecks = 16

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
    private let verified: VerifiedPasswords
    private let queue = PasswordCheckQueue(
        slots: maximumConcurrentChecks, placesPerAddress: checksPerAddress, maximumWaiting: maximumWaitingChecks)
    private let check: @Sendable ([UInt8], BcryptHash) -> Bool

    /// `verified`: the passwords that matched so far, shared with the authenticators of earlier and
    /// later readings of the file; those of hashes no longer configured are forgotten here.
    init(
        users: [String: BcryptHash], verified: VerifiedPasswords = VerifiedPasswords(),
        check: @escaping @Sendable ([UInt8], BcryptHash) -> Bool = Bcrypt.matches
    ) {
        self.users = users
        self.decoy = users.values.max { $0.cost < $1.cost }
        self.verified = verified
        self.check = check
        verified.keepOnly(users.values)
    }

    /// Number of users whose password is cached (for tests of the bound).
    var cachedUsers: Int { verified.count }

    /// `address`: the client's address without its port; checks are shared out per address.
    func verdict(authorization: String?, from address: String) async -> Verdict {
        guard let authorization else { return .denied("no credentials") }
        guard authorization.utf8.count <= Self.maximumHeaderBytes else {
            return .denied("Authorization header too long")
        }
        guard let (user, password) = Self.credentials(authorization) else {
            return .denied("Authorization is not Basic with base64 user:password")
        }
        let known = users[user]
        if let known, let cached = verified.password(for: known), ConstantTime.equal(cached, password) {
            return .allowed
        }
        guard let hash = known ?? decoy else { return .denied("unknown user") }
        let check = self.check
        let checked = await queue.run(for: address) {
            (try? await NIOThreadPool.singleton.runIfActive { check(password, hash) }) ?? false
        }
        guard let matches = checked else { return .busy }
        guard let known, matches else {
            queue.failed(address)
            return .denied(known == nil ? "unknown user" : "wrong password")
        }
        verified.remember(password, for: known)
        return .allowed
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
