/// Turns a terminal's output stream into plain text: escape sequences (CSI, OSC, DCS and the other
/// string sequences, charset designations) and control characters other than newline and tab are
/// removed, carriage returns dropped. Fed in chunks as they arrive: a sequence or a UTF-8 character
/// split across chunks is completed by the next one.
struct TerminalText {
    private enum State {
        case text
        case escape
        /// `ESC [`: parameters until a final byte in 0x40...0x7E.
        case controlSequence
        /// OSC, DCS, SOS, PM, APC: until BEL (OSC only) or `ESC \`.
        case string(allowsBell: Bool)
        case stringEscape(allowsBell: Bool)
        /// `ESC (`, `ESC )`, ...: one more byte names the charset.
        case designation
    }

    private var state = State.text
    /// Bytes of text whose UTF-8 character is not complete yet.
    private var pendingUTF8: [UInt8] = []

    /// Plain text of `bytes`, continuing from the previous chunk.
    mutating func feed(_ bytes: some Sequence<UInt8>) -> String {
        var text: [UInt8] = pendingUTF8
        pendingUTF8.removeAll()
        for byte in bytes {
            switch state {
            case .text:
                switch byte {
                case 0x1B: state = .escape
                case 0x0A, 0x09: text.append(byte)
                case 0x00..<0x20, 0x7F: break
                default: text.append(byte)
                }
            case .escape:
                switch byte {
                case UInt8(ascii: "["): state = .controlSequence
                case UInt8(ascii: "]"): state = .string(allowsBell: true)
                case UInt8(ascii: "P"), UInt8(ascii: "X"), UInt8(ascii: "^"), UInt8(ascii: "_"): state = .string(allowsBell: false)
                case UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "#"), UInt8(ascii: "%"):
                    state = .designation
                default: state = .text
                }
            case .controlSequence:
                if (0x40...0x7E).contains(byte) { state = .text }
            case .string(let allowsBell):
                if byte == 0x1B { state = .stringEscape(allowsBell: allowsBell) } else if byte == 0x07, allowsBell { state = .text }
            case .stringEscape(let allowsBell):
                state = byte == UInt8(ascii: "\\") ? .text : .string(allowsBell: allowsBell)
            case .designation:
                state = .text
            }
        }
        // Keep an incomplete UTF-8 character for the next chunk.
        var cut = text.count
        var back = 0
        while cut > 0, back < 4, text[cut - 1] & 0xC0 == 0x80 { cut -= 1; back += 1 }
        if cut > 0, text[cut - 1] >= 0xC0 {
            let lead = text[cut - 1]
            let length = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2
            if back + 1 < length {
                pendingUTF8 = Array(text[(cut - 1)...])
                text.removeSubrange((cut - 1)...)
            }
        }
        return String(decoding: text, as: UTF8.self)
    }
}
