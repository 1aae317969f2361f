import Foundation

/// Times as the API writes them: RFC 3339 in UTC with milliseconds (`2026-11-30T23:20:55.123Z`),
/// the text `Date.ISO8601FormatStyle(includingFractionalSeconds: true)` gives, built with integer
/// arithmetic: every answer carries a few of them, and the format style costs microseconds each.
enum APITime {
    static func string(_ date: Date) -> String {
        // A stored time is a whole number of milliseconds that a Double holds only approximately
        // (1.186 s may be 1.18599999...): within a microsecond of a millisecond, or a few units of
        // the Double's precision for far dates, counts as on it. Other fractions are cut.
        let since1970 = date.timeIntervalSince1970
        let scaled = since1970 * 1000
        let nearest = scaled.rounded()
        let milliseconds = abs(scaled - nearest) < max(0.001, 8_000 * since1970.ulp) ? nearest : scaled.rounded(.down)
        // Years 1-9999 only; anything else (never stored by the gateway) takes the slow path.
        guard milliseconds.isFinite, milliseconds < 253_402_300_800_000, milliseconds >= -62_135_596_800_000 else {
            return date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
        }
        let total = Int64(milliseconds)
        let (days, dayMilliseconds) = floorDivide(total, 86_400_000)
        let (year, month, day) = civil(days: days)
        let seconds = dayMilliseconds / 1000
        return String(unsafeUninitializedCapacity: 24) { buffer in
            var index = 0
            // `value` in `width` digits, then `separator`.
            func put(_ value: Int64, _ width: Int, _ separator: Unicode.Scalar) {
                var value = value
                for position in stride(from: index + width - 1, through: index, by: -1) {
                    buffer[position] = UInt8(ascii: "0") + UInt8(value % 10)
                    value /= 10
                }
                buffer[index + width] = UInt8(ascii: separator)
                index += width + 1
            }
            put(year, 4, "-")
            put(month, 2, "-")
            put(day, 2, "T")
            put(seconds / 3600, 2, ":")
            put(seconds / 60 % 60, 2, ":")
            put(seconds % 60, 2, ".")
            put(dayMilliseconds % 1000, 3, "Z")
            return index
        }
    }

    private static func floorDivide(_ value: Int64, _ divisor: Int64) -> (Int64, Int64) {
        let quotient = value / divisor, remainder = value % divisor
        return remainder < 0 ? (quotient - 1, remainder + divisor) : (quotient, remainder)
    }

    /// The proleptic Gregorian date of a day counted from 1970-01-01 (Howard Hinnant's
    /// `civil_from_days`).
    private static func civil(days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let shifted = days + 719_468
        let era = (shifted >= 0 ? shifted : shifted - 146_096) / 146_097
        let dayOfEra = shifted - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
