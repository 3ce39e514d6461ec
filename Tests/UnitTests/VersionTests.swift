import Foundation
import Testing

@testable import MonitorModel

/// The version the daemons report is the one the Debian package is built as: the first line of
/// `debian/changelog`, `monitord (VERSION) ...`.
@Test func versionIsTheChangelogs() throws {
    let changelog = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("debian/changelog")
    let firstLine = try #require(try String(contentsOf: changelog, encoding: .utf8).split(separator: "\n").first)
    let version = try #require(firstLine.split(separator: "(").dropFirst().first?.split(separator: ")").first)
    #expect(MonitorVersion.current == String(version))
}
