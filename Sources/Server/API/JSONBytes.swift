import Foundation
import NIOCore

/// A representation the API sends often enough (a session, a page of them) to be written straight
/// to bytes, as `APIJSON.encoder` would write it: keys sorted, absent optionals left out, slashes
/// unescaped, times from ``APITime``. `JSONBytesTests` holds each writer to the encoder's output.
protocol DirectJSON: Encodable {
    func write(to json: inout JSONBytes)
}

/// JSON written into a `ByteBuffer`. An object's members must be given in sorted key order.
struct JSONBytes {
    private(set) var buffer = ByteBuffer()
    /// Per open object or array: whether a member has been written (a comma goes before the next).
    private var started: [Bool] = []

    mutating func object(_ body: (inout JSONBytes) -> Void) {
        open(UInt8(ascii: "{"))
        body(&self)
        close(UInt8(ascii: "}"))
    }

    mutating func array<S: Sequence>(_ elements: S, _ body: (inout JSONBytes, S.Element) -> Void) {
        open(UInt8(ascii: "["))
        for element in elements {
            separate()
            body(&self, element)
        }
        close(UInt8(ascii: "]"))
    }

    mutating func key(_ name: StaticString) {
        separate()
        buffer.writeInteger(UInt8(ascii: "\""))
        buffer.writeStaticString(name)
        buffer.writeStaticString("\":")
    }

    mutating func member(_ name: StaticString, _ value: String) {
        key(name)
        string(value)
    }

    mutating func member(_ name: StaticString, _ value: String?) {
        if let value { member(name, value) }
    }

    mutating func member(_ name: StaticString, _ value: Int64) {
        key(name)
        buffer.writeString(String(value))
    }

    mutating func member(_ name: StaticString, _ value: Date) {
        key(name)
        string(APITime.string(value))
    }

    mutating func member(_ name: StaticString, _ value: Date?) {
        if let value { member(name, value) }
    }

    mutating func null() {
        buffer.writeStaticString("null")
    }

    /// A JSON string, escaped as Foundation's encoder does: quote, backslash and control characters.
    mutating func string(_ value: String) {
        buffer.writeInteger(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { bytes in
            var clean = 0
            for index in bytes.indices {
                let byte = bytes[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                buffer.writeBytes(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[clean..<index]))
                escape(byte)
                clean = index + 1
            }
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(bytes)[clean...]))
        }
        buffer.writeInteger(UInt8(ascii: "\""))
    }

    private mutating func escape(_ byte: UInt8) {
        switch byte {
        case UInt8(ascii: "\""): buffer.writeStaticString("\\\"")
        case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
        case 0x08: buffer.writeStaticString("\\b")
        case 0x0C: buffer.writeStaticString("\\f")
        case UInt8(ascii: "\n"): buffer.writeStaticString("\\n")
        case UInt8(ascii: "\r"): buffer.writeStaticString("\\r")
        case UInt8(ascii: "\t"): buffer.writeStaticString("\\t")
        default:
            let hex = Array("0123456789abcdef".utf8)
            buffer.writeStaticString("\\u00")
            buffer.writeInteger(hex[Int(byte >> 4)])
            buffer.writeInteger(hex[Int(byte & 0x0F)])
        }
    }

    private mutating func open(_ byte: UInt8) {
        buffer.writeInteger(byte)
        started.append(false)
    }

    private mutating func close(_ byte: UInt8) {
        started.removeLast()
        buffer.writeInteger(byte)
    }

    private mutating func separate() {
        guard let last = started.indices.last else { return }
        if started[last] { buffer.writeInteger(UInt8(ascii: ",")) }
        started[last] = true
    }
}

extension SessionJSON: DirectJSON {
    func write(to json: inout JSONBytes) {
        json.object { json in
            json.member("agentId", agentId)
            json.member("createdAt", createdAt)
            json.member("endedAt", endedAt)
            json.member("error", error)
            json.member("id", id)
            json.member("lastSeq", lastSeq)
            json.member("startedAt", startedAt)
            json.member("state", state)
            json.member("task", task)
            json.member("updatedAt", updatedAt)
            json.member("waitingReason", waitingReason)
        }
    }
}

extension SessionPageJSON: DirectJSON {
    func write(to json: inout JSONBytes) {
        json.object { json in
            if let nextCursor { json.member("nextCursor", nextCursor) }
            json.key("sessions")
            json.array(sessions) { json, session in session.write(to: &json) }
        }
    }
}
