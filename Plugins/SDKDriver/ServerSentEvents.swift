/// One server-sent event: its `event` field (nil when absent) and its `data` lines joined by "\n".
struct ServerSentEvent: Sendable, Equatable {
    var event: String?
    var data: String
}

/// Reads a `text/event-stream` body incrementally, as the HTML standard defines it: lines end in
/// LF, CRLF or CR (also when a CRLF is split between two chunks), a blank line dispatches, `:`
/// starts a comment, and one optional space after a field's colon is dropped. Chunks may split
/// anywhere, inside a line or inside a UTF-8 sequence.
struct ServerSentEventParser: Sendable {
    struct LineTooLong: Error, CustomStringConvertible {
        var limit: Int
        var description: String { "a server-sent event (or one of its lines) is longer than \(limit) bytes" }
    }

    private var line: [UInt8] = []
    private var afterCR = false
    private var event: String?
    private var data: [UInt8] = []
    private var hasData = false
    /// Bytes of the stream seen so far, up to 3: a byte order mark at the very start is dropped.
    private var started = 0
    let maxLineBytes: Int

    init(maxLineBytes: Int = 16 << 20) {
        self.maxLineBytes = maxLineBytes
    }

    private static let byteOrderMark: [UInt8] = [0xEF, 0xBB, 0xBF]

    /// The events completed by `bytes`.
    mutating func feed(_ bytes: some Sequence<UInt8>) throws(LineTooLong) -> [ServerSentEvent] {
        var events: [ServerSentEvent] = []
        for byte in bytes {
            if started < 3 {
                // The standard drops one U+FEFF at the start; bytes that only began like one are kept.
                if byte == Self.byteOrderMark[started], line.count == started {
                    started += 1
                    line.append(byte)
                    if started == 3 { line.removeAll(keepingCapacity: true) }
                    continue
                }
                started = 3
            }
            if afterCR {
                afterCR = false
                if byte == 0x0A { continue }
            }
            switch byte {
            case 0x0A:
                if let event = endLine() { events.append(event) }
            case 0x0D:
                afterCR = true
                if let event = endLine() { events.append(event) }
            default:
                guard line.count < maxLineBytes, data.count < maxLineBytes else { throw LineTooLong(limit: maxLineBytes) }
                line.append(byte)
            }
        }
        return events
    }

    /// Whether the stream ended in the middle of an event (which the standard discards).
    var hasPartialEvent: Bool { !line.isEmpty || hasData || event != nil }

    private mutating func endLine() -> ServerSentEvent? {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            defer { event = nil; data.removeAll(keepingCapacity: true); hasData = false }
            guard hasData else { return nil }
            return ServerSentEvent(event: event, data: String(decoding: data, as: UTF8.self))
        }
        if line.first == UInt8(ascii: ":") { return nil }
        let colon = line.firstIndex(of: UInt8(ascii: ":")) ?? line.endIndex
        let name = String(decoding: line[..<colon], as: UTF8.self)
        var valueStart = colon < line.endIndex ? colon + 1 : colon
        if valueStart < line.endIndex, line[valueStart] == UInt8(ascii: " ") { valueStart += 1 }
        let value = line[valueStart...]
        switch name {
        case "event":
            event = value.isEmpty ? nil : String(decoding: value, as: UTF8.self)
        case "data":
            if hasData { data.append(0x0A) }
            data.append(contentsOf: value)
            hasData = true
        default:
            break  // id, retry and unknown fields mean nothing to a one-shot response.
        }
        return nil
    }
}
