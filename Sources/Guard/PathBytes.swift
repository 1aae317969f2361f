/// Paths read as the kernel reads them: bytes, split at `/`. Read as Characters, a combining mark
/// after a `/` makes one Character with it, so `hasPrefix("/")` calls such a path relative and
/// `split(separator: "/")` does not split there: a `..` can hide behind it.
extension StringProtocol {
    /// The first byte is `/`.
    package var isAbsolutePath: Bool { utf8.first == UInt8(ascii: "/") }

    /// A part between `/` bytes is exactly `..`.
    package var climbsToParent: Bool {
        utf8.split(separator: UInt8(ascii: "/")).contains { $0.count == 2 && $0.allSatisfy { $0 == UInt8(ascii: ".") } }
    }

    /// Two `.` bytes in a row anywhere: stricter than ``climbsToParent``.
    package var containsTwoDots: Bool {
        var previousDot = false
        for byte in utf8 {
            let dot = byte == UInt8(ascii: ".")
            if dot, previousDot { return true }
            previousDot = dot
        }
        return false
    }
}
