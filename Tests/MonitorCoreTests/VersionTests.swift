import Testing

@testable import MonitorModel

@Test func versionIsSet() { #expect(!MonitorVersion.current.isEmpty) }
