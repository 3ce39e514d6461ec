@testable import MonitorProtocol

/// Helpers shared by the splitter and protocol suites; prefixed to stay clear of other suites.
enum ProtocolFixtures {
    /// Every object currently complete, or the error that stopped the stream.
    static func drain(_ splitter: inout JSONObjectSplitter) throws(FramingError) -> [[UInt8]] {
        var objects: [[UInt8]] = []
        while let object = try splitter.nextObject() {
            objects.append(object)
        }
        return objects
    }

    /// Objects with every structure the splitter must see through.
    static let trickyObjects: [String] = [
        #"{"currentProccessRAM: ": 0.00927734375, "RAM usage: ": 58.4, "CPU usage: ": 2.8, "CPU interrupts: ": 706148}"#,
        #"{"s":"}{"}"#,
        #"{"s":"\"}{\""}"#,
        #"{"s":"\\"}"#,
        #"{"s":"\\\"}\\"}"#,
        #"{"s":"\u007d\u007B\u0022"}"#,
        #"{"a":[{"b":[]},{"c":{"d":"]"}}],"e":"["}"#,
        #"{}"#,
        "{\"é\":\"日本語 😀\"}",
    ]
}
