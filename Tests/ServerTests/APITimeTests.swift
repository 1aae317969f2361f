import Foundation
@testable import Server
import Testing

@Suite("API times")
struct APITimeTests {
    /// The text for a time the store keeps (whole milliseconds since 1970), built with Foundation
    /// from the whole second and the millisecond digits. (Foundation's own fractional style is no
    /// reference: it truncates the binary fraction, so `.186` stored prints as `.185` at times, and
    /// before 1582 it switches to the Julian calendar, which RFC 3339 does not.)
    static func expected(milliseconds: Int64) -> String {
        let second = milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000
        let fraction = milliseconds - second * 1000
        let whole = Date(timeIntervalSince1970: Double(second)).formatted(Date.ISO8601FormatStyle())
        return whole.dropLast() + "." + String(format: "%03lld", fraction) + "Z"
    }

    @Test("stored times read as their calendar second and milliseconds, at calendar edges and 40,000 random times up to 9999")
    func matchesCalendar() {
        var generator = SystemRandomNumberGenerator()
        var times: [Int64] = [0, -1, -86_400_500, 951_782_400_000, 4_107_542_399_999, 1_796_080_855_123, 13_569_465_599_999, -11_676_096_000_000]
        for _ in 0..<20_000 { times.append(Int64.random(in: -11_676_096_000_000..<13_569_465_600_000, using: &generator)) }
        // Far dates, where a Double holds a millisecond least exactly.
        for _ in 0..<20_000 { times.append(Int64.random(in: 13_569_465_600_000..<253_402_300_800_000, using: &generator)) }
        var mismatches: [String] = []
        for time in times {
            let text = APITime.string(Date(timeIntervalSince1970: Double(time) / 1000))
            if text != Self.expected(milliseconds: time) { mismatches.append("\(time): \(text) vs \(Self.expected(milliseconds: time))") }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) differ, first: \(mismatches.prefix(5))")
    }

    @Test("sub-millisecond fractions are cut, not rounded up; the whole range of years keeps its shape")
    func fractionsAndRange() {
        #expect(APITime.string(Date(timeIntervalSince1970: 1_796_080_855.123_9)) == "2026-11-30T23:20:55.123Z")
        #expect(APITime.string(Date(timeIntervalSince1970: -0.000_5)) == "1969-12-31T23:59:59.999Z")
        #expect(APITime.string(Date(timeIntervalSince1970: 253_402_300_799.999)) == "9999-12-31T23:59:59.999Z")
        #expect(APITime.string(Date(timeIntervalSince1970: -62_135_596_800)) == "0001-01-01T00:00:00.000Z")
    }
}
