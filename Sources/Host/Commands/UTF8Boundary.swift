/// Holds back the bytes of a UTF-8 character cut off at the end of a chunk of output, so every
/// chunk handed on ends on a character boundary and decodes without replacement characters.
struct UTF8Boundary {
    private var carried: [UInt8] = []

    /// The complete characters of what was carried plus `bytes`; an unfinished last character
    /// waits for the next chunk.
    mutating func take(_ bytes: [UInt8]) -> [UInt8] {
        var all = carried
        all.append(contentsOf: bytes)
        let cut = Self.completeLength(all)
        carried = Array(all[cut...])
        return Array(all[..<cut])
    }

    /// Whatever is still carried (at the end of the output, even if it is not valid UTF-8).
    mutating func flush() -> [UInt8] {
        defer { carried = [] }
        return carried
    }

    /// The length of the longest prefix that does not end inside a multi-byte character.
    static func completeLength(_ bytes: [UInt8]) -> Int {
        var index = bytes.count
        var continuations = 0
        // A character is at most 4 bytes: look back at most 3 continuation bytes for its lead byte.
        while index > 0, continuations < 3, bytes[index - 1] & 0xC0 == 0x80 {
            index -= 1
            continuations += 1
        }
        guard index > 0 else { return bytes.count }
        let lead = bytes[index - 1]
        let expected: Int =
            switch lead {
            case 0xC0...0xDF: 2
            case 0xE0...0xEF: 3
            case 0xF0...0xF7: 4
            default: 1
            }
        // The lead byte and its continuations so far make an unfinished character: hold it back.
        return expected > continuations + 1 ? index - 1 : bytes.count
    }
}
