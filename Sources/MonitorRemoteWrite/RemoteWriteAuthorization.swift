import GatewayConfig
import MonitorConfig

/// The `Authorization` header of remote-write requests, from the credential files the configuration names.
///
/// Files are read when the writer starts (and checked when the configuration is loaded), so a secret
/// never sits in `monitord.conf` itself and a rotated secret applies at the next restart.
enum RemoteWriteAuthorization {
    static func header(for configuration: RemoteWriteConfiguration) throws(CredentialFileError) -> String? {
        if let path = configuration.bearerTokenFile {
            return "Bearer " + (try RemoteWriteConfiguration.readSecret(path: path))
        }
        if let user = configuration.basicAuthUsername, let path = configuration.basicAuthPasswordFile {
            let password = try RemoteWriteConfiguration.readSecret(path: path)
            return "Basic " + base64(Array("\(user):\(password)".utf8))
        }
        return nil
    }

    /// Standard base64 with padding (RFC 4648 §4), all basic auth needs.
    static func base64(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var output: [UInt8] = []
        output.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index < bytes.count {
            let chunk = bytes[index..<min(index + 3, bytes.count)]
            var value = 0
            for (offset, byte) in chunk.enumerated() { value |= Int(byte) << (16 - 8 * offset) }
            for position in 0..<4 {
                output.append(
                    position <= chunk.count ? alphabet[(value >> (18 - 6 * position)) & 0x3F] : UInt8(ascii: "="))
            }
            index += 3
        }
        return String(decoding: output, as: UTF8.self)
    }
}
