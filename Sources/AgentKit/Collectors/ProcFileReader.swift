import MonitorSystem

/// Reads text files under a `/proc`-like root.
///
/// The root is a parameter so that tests (and containers with procfs mounted elsewhere) can point it at
/// another directory.
public struct ProcFileReader: Sendable {
    /// No file the collectors read comes near this; it only stops a wrong root from exhausting memory.
    public static let maximumFileBytes = 4 << 20

    public var root: String

    public init(root: String = "/proc") {
        self.root = root
    }

    /// The whole file `root/relativePath`, read until end of file.
    public func read(_ relativePath: String) throws(CollectorError) -> String {
        let path = path(relativePath)
        let bytes: [UInt8]
        do {
            bytes = try BoundedFile.read(path: path, limit: Self.maximumFileBytes)
        } catch {
            switch error {
            case .tooLarge: throw CollectorError(file: path, message: "file is larger than 4 MiB")
            case .system(let reason): throw CollectorError(file: path, message: "cannot read: \(reason)")
            }
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw CollectorError(file: path, message: "file is not valid UTF-8")
        }
        return text
    }

    /// The path of `relativePath` under the root.
    func path(_ relativePath: String) -> String {
        root.hasSuffix("/") ? root + relativePath : root + "/" + relativePath
    }
}
