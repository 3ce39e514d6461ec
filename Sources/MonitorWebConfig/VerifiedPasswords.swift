import Synchronization

/// The passwords that verified, by the bcrypt hash they matched, kept for the life of the process.
///
/// Outlives each reading of the web config file, so that a reload (which reads the file again and
/// builds a new ``BasicAuthenticator``) does not send every scraper back through bcrypt: that is
/// when a client flooding wrong passwords keeps the bcrypt slots busy and a scraper that knows the
/// password gets 503 (audit 5, finding 02). Keyed by the hash, not the user name, so that a changed
/// password in the file is never answered from memory.
public final class VerifiedPasswords: Sendable {
    private let passwords: Mutex<[String: [UInt8]]> = Mutex([:])

    public init() {}

    func password(for hash: BcryptHash) -> [UInt8]? {
        passwords.withLock { $0[hash.text] }
    }

    /// Remembers the last password that matched `hash`: one entry per configured hash whatever
    /// clients send, since a wrong password is never remembered.
    func remember(_ password: [UInt8], for hash: BcryptHash) {
        passwords.withLock { $0[hash.text] = password }
    }

    /// Forgets the passwords of hashes the file no longer holds.
    func keepOnly(_ hashes: some Sequence<BcryptHash>) {
        let kept = Set(hashes.map(\.text))
        passwords.withLock { $0 = $0.filter { kept.contains($0.key) } }
    }

    var count: Int { passwords.withLock { $0.count } }
}
