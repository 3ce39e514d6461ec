import Foundation

/// A path in the temporary directory that nothing uses yet, named after `purpose` so that a
/// leftover file or directory says which test left it. Nothing is created: for a directory the
/// code under test must make itself, or a file.
public func temporaryPath(_ purpose: String = "monitord-test") -> String {
    NSTemporaryDirectory() + "\(purpose)-\(UUID().uuidString)"
}

/// A new, empty scratch directory for one test, named after `purpose` (see ``temporaryPath(_:)``).
public func makeTemporaryDirectory(_ purpose: String = "monitord-test") throws -> String {
    let path = temporaryPath(purpose)
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
