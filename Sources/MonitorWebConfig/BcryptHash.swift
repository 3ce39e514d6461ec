/// One `basic_auth_users` value: a bcrypt hash in the modular crypt format `$2y$10$<53 characters>`.
///
/// Checked when the file is read, so that a typo (an MD5 or SHA-crypt hash, a truncated paste) is a
/// `file:line` error instead of a user who can never log in, and so that no hash can make one password
/// check take minutes: bcrypt doubles its work with each cost step, and a cost of 31 would occupy a
/// core for days. ``maximumCost`` is where monitord draws that line.
public struct BcryptHash: Sendable, Equatable {
    /// The highest cost accepted. Cost 14 takes about a second on a current core (cost 10, the
    /// exporter-toolkit's example, about 60 ms); each step beyond doubles that. A wrong password always
    /// pays the full price, so the cap bounds what one unauthenticated request can cost the gateway.
    public static let maximumCost = 14
    /// bcrypt's own lower bound.
    public static let minimumCost = 4

    /// The hash as written in the file (the salt and the cost are part of it).
    public let text: String
    public let cost: Int

    /// Reads a hash; the error message completes "user NAME: ...".
    public init(_ text: String) throws(BcryptHashError) {
        let bytes = Array(text.utf8)
        // "$2y$" + two cost digits + "$" + 22 salt + 31 hash characters.
        guard bytes.count == 60, bytes[0] == UInt8(ascii: "$"), bytes[1] == UInt8(ascii: "2"),
            [UInt8(ascii: "a"), UInt8(ascii: "b"), UInt8(ascii: "y")].contains(bytes[2]), bytes[3] == UInt8(ascii: "$"),
            bytes[6] == UInt8(ascii: "$")
        else {
            throw BcryptHashError(
                "is not a bcrypt hash ($2a$, $2b$ or $2y$, a two-digit cost and 53 characters, 60 in all; "
                    + "make one with: htpasswd -nBC 10 \"\" | tr -d ':\\n')")
        }
        guard let cost = Int(String(decoding: bytes[4..<6], as: UTF8.self)) else {
            throw BcryptHashError("has a bcrypt cost that is not a number")
        }
        guard cost >= Self.minimumCost else {
            throw BcryptHashError("has bcrypt cost \(cost); bcrypt needs at least \(Self.minimumCost)")
        }
        guard cost <= Self.maximumCost else {
            throw BcryptHashError(
                "has bcrypt cost \(cost), above monitord's limit of \(Self.maximumCost): each step doubles the CPU "
                    + "every wrong password costs the gateway; hash the password again with a cost of at most \(Self.maximumCost)"
            )
        }
        let alphabet = Set("./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)
        guard bytes[7...].allSatisfy({ alphabet.contains($0) }) else {
            throw BcryptHashError("has characters outside bcrypt's alphabet (./A-Za-z0-9) in its salt or hash")
        }
        self.text = text
        self.cost = cost
    }
}

/// Why a `basic_auth_users` value was refused.
public struct BcryptHashError: Error, Sendable, Equatable {
    public var message: String
    init(_ message: String) { self.message = message }
}
