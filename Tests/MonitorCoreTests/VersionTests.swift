import Testing
@testable import MonitorCore
@Test func versionIsSet() { #expect(!MonitorVersion.current.isEmpty) }
