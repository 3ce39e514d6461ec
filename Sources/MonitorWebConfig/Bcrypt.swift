import CCrypt

/// Password checks against bcrypt hashes, by libxcrypt's `crypt_r` (Debian's libcrypt1, which every
/// Debian system has): a maintained implementation, and one that adds nothing to the binary.
enum Bcrypt {
    /// bcrypt reads at most 72 bytes of a password; a longer one is refused rather than silently
    /// matched by its first 72 bytes (Go's bcrypt, behind the exporter-toolkit, refuses it too).
    static let maximumPasswordBytes = 72

    /// Whether `password` hashes to `hash`. Slow by design (see ``BcryptHash/maximumCost``): call it
    /// off the event loops.
    static func matches(password: [UInt8], hash: BcryptHash) -> Bool {
        guard password.count <= maximumPasswordBytes, !password.contains(0) else { return false }
        // struct crypt_data is about 32 KiB: on the heap, zeroed as crypt_r requires on first use.
        let size = MemoryLayout<crypt_data>.size
        let raw = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: MemoryLayout<crypt_data>.alignment)
        defer { raw.deallocate() }
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: size)
        let data = raw.bindMemory(to: crypt_data.self, capacity: 1)
        let computed: [UInt8]? = (password + [0]).withUnsafeBufferPointer { passwordBytes in
            passwordBytes.withMemoryRebound(to: CChar.self) { passwordText in
                guard let result = crypt_r(passwordText.baseAddress, hash.text, data) else { return nil }
                return Array(String(cString: result).utf8)
            }
        }
        // libxcrypt answers a failure with a string starting with "*", never equal to a valid hash.
        guard let computed else { return false }
        return ConstantTime.equal(computed, Array(hash.text.utf8))
    }
}

/// Comparison whose duration depends on the lengths only, not on where the first difference is, so
/// that a client timing the answers learns nothing about a cached password.
enum ConstantTime {
    static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        var difference = a.count ^ b.count
        for index in 0..<max(a.count, b.count) {
            let x = index < a.count ? a[index] : 0
            let y = index < b.count ? b[index] : 0
            difference |= Int(x ^ y)
        }
        return difference == 0
    }
}
