/// A point in time as whole milliseconds since the Unix epoch.
///
/// The SNS module does no I/O and reads no clock: callers pass "now" in, which keeps every
/// judgement about time reproducible (tests and `defender-relay verify --now`).
public struct SNSInstant: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var millisecondsSince1970: Int64

    public init(millisecondsSince1970: Int64) {
        self.millisecondsSince1970 = millisecondsSince1970
    }

    public static func < (lhs: SNSInstant, rhs: SNSInstant) -> Bool {
        lhs.millisecondsSince1970 < rhs.millisecondsSince1970
    }

    /// Parses the ISO 8601 UTC form SNS uses: `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, with 1 to 9
    /// fractional digits (SNS sends 2, 3 or 7; only milliseconds are kept). Anything else is nil.
    public init?(iso8601 text: String) {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, bytes.last == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int? {
            var value = 0
            for index in range {
                let byte = bytes[index]
                guard byte >= 48, byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        func expect(_ index: Int, _ character: Character) -> Bool { bytes[index] == character.asciiValue }
        guard expect(4, "-"), expect(7, "-"), expect(10, "T") || expect(10, "t"), expect(13, ":"), expect(16, ":"),
              let year = number(0..<4), let month = number(5..<7), let day = number(8..<10),
              let hour = number(11..<13), let minute = number(14..<16), let second = number(17..<19),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61
        else { return nil }
        var millis = 0
        let end = bytes.count - 1
        if end > 19 {
            // Each digit is checked on its own: read as one number, a long fraction overflowed.
            guard expect(19, "."), end > 20, end - 20 <= 9, bytes[20..<end].allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return nil }
            let digits = bytes[20..<end].prefix(3).map { Int($0 - 48) }
            for position in 0..<3 { millis = millis * 10 + (position < digits.count ? digits[position] : 0) }
        }
        guard day <= SNSInstant.daysIn(month: month, year: year) else { return nil }
        let days = SNSInstant.daysSinceEpoch(year: year, month: month, day: day)
        let seconds = Int64(days) * 86_400 + Int64(hour * 3600 + minute * 60 + second)
        self.millisecondsSince1970 = seconds * 1000 + Int64(millis)
    }

    /// Renders as `YYYY-MM-DDTHH:MM:SS.mmmZ`.
    public var description: String {
        let totalMillis = millisecondsSince1970
        var seconds = totalMillis >= 0 ? totalMillis / 1000 : (totalMillis - 999) / 1000
        let millis = Int(totalMillis - seconds * 1000)
        var days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        seconds -= days * 86_400
        // Civil-from-days (Howard Hinnant's algorithm).
        days += 719_468
        let era = (days >= 0 ? days : days - 146_096) / 146_097
        let dayOfEra = days - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let monthIndex = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * monthIndex + 2) / 5 + 1
        let month = monthIndex < 10 ? monthIndex + 3 : monthIndex - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(seconds / 3600, 2)):\(pad(seconds % 3600 / 60, 2)):\(pad(seconds % 60, 2)).\(pad(Int64(millis), 3))Z"
    }

    /// The instant `seconds` later (negative: earlier).
    public func adding(seconds: Int64) -> SNSInstant {
        SNSInstant(millisecondsSince1970: millisecondsSince1970 + seconds * 1000)
    }

    private static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    private static func daysSinceEpoch(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}
