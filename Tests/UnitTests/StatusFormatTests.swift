import Foundation
import Testing

@testable import GatewayStatus

@Suite struct StatusFormatTests {
    @Test func percentsAndSizes() {
        #expect(StatusFormat.percent(58.4) == "58.4 %")
        #expect(StatusFormat.percent(100) == "100.0 %")
        #expect(StatusFormat.percent(0.05) == "0.1 %")
        #expect(StatusFormat.percent(0.04) == "0.0 %")
        #expect(StatusFormat.percent(-0.04) == "0.0 %")
        #expect(StatusFormat.percent(.nan) == "NaN %")
        #expect(StatusFormat.mebibytes(fromGibibytes: 0.00927734375) == "9.5 MiB")
        #expect(StatusFormat.fixed(2.25, decimals: 0) == "2")
        #expect(StatusFormat.fixed(-1.25, decimals: 2) == "-1.25")
    }

    @Test func durationsUseTheUnitThatMatters() {
        #expect(StatusFormat.duration(0) == "0 s")
        #expect(StatusFormat.duration(-3) == "0 s")
        #expect(StatusFormat.duration(59.9) == "59 s")
        #expect(StatusFormat.duration(60) == "1 min")
        #expect(StatusFormat.duration(3599) == "59 min")
        #expect(StatusFormat.duration(3600) == "1 h")
        #expect(StatusFormat.duration(3600 + 5 * 60 + 7) == "1 h 5 min")
        #expect(StatusFormat.duration(86_400) == "1 d")
        #expect(StatusFormat.duration(4 * 86_400 + 3 * 3600 + 59) == "4 d 3 h")
        #expect(StatusFormat.duration(.infinity) == "?")
    }

    @Test(arguments: [
        0.0, 0.999, 59.5, 951_782_400, 951_868_799.9, 1_700_000_000.25, 4_107_542_400, -1, -86_400.5, -2_208_988_800,
    ])
    func isoUTCMatchesFoundation(_ seconds: Double) {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        let expected = formatter.string(from: Date(timeIntervalSince1970: seconds.rounded(.down)))
        #expect(StatusFormat.isoUTC(seconds) == expected)
    }
}
