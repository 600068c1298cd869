import Foundation

/// Durations as people write them in configuration files and commands: `90s`, `30m`, `24h`,
/// `7d` (a bare number is seconds).
public enum DurationText {
    /// Ten years: anything longer is a typo, and bounding it keeps the arithmetic in range.
    public static let maxSeconds: Int64 = 10 * 366 * 86_400

    /// Seconds, or nil when `text` is not a positive duration up to `maxSeconds`.
    public static func seconds(_ text: String) -> Int64? {
        let text = text.trimmingCharacters(in: .whitespaces)
        let units: [Character: Int64] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        let unit = text.last.flatMap { units[$0] }
        let digits = unit == nil ? Substring(text) : text.dropLast()
        guard !digits.isEmpty, digits.count <= 12, digits.allSatisfy({ $0.isASCII && $0.isNumber }), let number = Int64(digits), number > 0 else { return nil }
        let (seconds, overflow) = number.multipliedReportingOverflow(by: unit ?? 1)
        guard !overflow, seconds <= maxSeconds else { return nil }
        return seconds
    }
}
