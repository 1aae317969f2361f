import Foundation

/// What the pane printed: read from the file `pipe-pane` appends to (so nothing is missed between
/// reads), turned into plain text, and kept only as a bounded window for matching patterns. The
/// text itself leaves as events; nothing grows with the output but the file, which the run deletes.
final class PaneOutput {
    private let handle: FileHandle
    private var terminal = TerminalText()
    /// The last `windowLimit` bytes of text; `windowStart` is the offset of its first byte in all
    /// text the pane ever printed.
    private(set) var window: [UInt8] = []
    private(set) var windowStart = 0
    private let windowLimit: Int
    /// Text read but not yet emitted.
    private var unsent: [UInt8] = []
    private(set) var lastOutput = ContinuousClock.now
    private(set) var totalBytes = 0

    /// The offset just past all text so far.
    var end: Int { windowStart + window.count }

    init(file: URL, windowLimit: Int = 256 * 1024) throws {
        guard FileManager.default.createFile(atPath: file.path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
            throw PaneRun.Failure(message: "cannot create \(file.path) for the pane's output")
        }
        handle = try FileHandle(forReadingFrom: file)
        self.windowLimit = windowLimit
    }

    deinit {
        try? handle.close()
    }

    /// Reads what arrived since the last call (at most `limit` bytes); true when something did.
    @discardableResult
    func pump(limit: Int = 1 << 20) -> Bool {
        guard let data = try? handle.read(upToCount: limit), !data.isEmpty else { return false }
        totalBytes += data.count
        lastOutput = .now
        let text = Array(terminal.feed(data).utf8)
        guard !text.isEmpty else { return true }
        unsent.append(contentsOf: text)
        window.append(contentsOf: text)
        if window.count > windowLimit {
            // Cut on a character boundary, so offsets keep counting the bytes that were printed.
            var drop = window.count - windowLimit
            while drop < window.count, window[drop] & 0xC0 == 0x80 { drop += 1 }
            window.removeFirst(drop)
            windowStart += drop
        }
        return true
    }

    /// Starts the quiet time over: the program started only now.
    func restartQuietClock() {
        lastOutput = .now
    }

    /// Takes the text not yet emitted, in pieces of at most `size` bytes cut on character boundaries.
    func takeUnsent(pieceSize size: Int = 16 * 1024) -> [String] {
        guard !unsent.isEmpty else { return [] }
        var pieces: [String] = []
        var start = 0
        while start < unsent.count {
            var cut = min(start + size, unsent.count)
            while cut < unsent.count, cut > start, unsent[cut] & 0xC0 == 0x80 { cut -= 1 }
            pieces.append(String(decoding: unsent[start..<cut], as: UTF8.self))
            start = cut
        }
        unsent.removeAll(keepingCapacity: true)
        return pieces
    }

    /// The text from offset `from` (clamped to the window) to the end.
    func text(from: Int) -> String {
        let start = max(0, min(from - windowStart, window.count))
        return String(decoding: window[start...], as: UTF8.self)
    }

    /// The text between two offsets.
    func text(from: Int, to: Int) -> String {
        let start = max(0, min(from - windowStart, window.count)), stop = max(start, min(to - windowStart, window.count))
        return String(decoding: window[start..<stop], as: UTF8.self)
    }

    /// The first match of `pattern` in the text after offset `from`: its range as offsets, and its groups.
    func firstMatch(_ pattern: NSRegularExpression, after from: Int) -> (start: Int, end: Int, groups: [String])? {
        let base = max(from, windowStart)
        let text = self.text(from: base)
        guard let match = pattern.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)),
              let range = Range(match.range, in: text) else { return nil }
        let startOffset = base + text[..<range.lowerBound].utf8.count
        let endOffset = base + text[..<range.upperBound].utf8.count
        let groups = (0..<match.numberOfRanges).map { index -> String in
            Range(match.range(at: index), in: text).map { String(text[$0]) } ?? ""
        }
        return (startOffset, endOffset, groups)
    }
}
