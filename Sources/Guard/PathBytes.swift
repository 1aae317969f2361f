/// Paths read as the kernel reads them: bytes, split at `/`. Read as Characters, a combining mark
/// after a `/` makes one Character with it, so `hasPrefix("/")` calls such a path relative and
/// `split(separator: "/")` does not split there: a `..` can hide behind it.
extension StringProtocol {
    /// The first byte is `/`.
    package var isAbsolutePath: Bool { utf8.first == UInt8(ascii: "/") }

    /// A part between `/` bytes is exactly `..`.
    package var climbsToParent: Bool {
        utf8.split(separator: UInt8(ascii: "/")).contains(where: \.isParentPart)
    }

    /// The path is `root` or inside it, compared byte for byte (String equality and `hasPrefix`
    /// treat canonically equivalent texts as equal; the file system does not).
    package func isPath(within root: some StringProtocol) -> Bool {
        if utf8.elementsEqual(root.utf8) { return true }
        var folder = Array(root.utf8)
        if folder.last != UInt8(ascii: "/") { folder.append(UInt8(ascii: "/")) }
        return utf8.starts(with: folder)
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

extension Collection<UInt8> {
    /// One part of a path, as bytes, is exactly `..`.
    package var isParentPart: Bool { count == 2 && allSatisfy { $0 == UInt8(ascii: ".") } }
}
