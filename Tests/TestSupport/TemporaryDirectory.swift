import Foundation

/// A new, empty scratch directory for one test, named after `purpose` so that a leftover one says
/// which test left it.
public func makeTemporaryDirectory(_ purpose: String = "monitord-test") throws -> String {
    let path = NSTemporaryDirectory() + "\(purpose)-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
