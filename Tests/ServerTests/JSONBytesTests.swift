import Foundation
@testable import Host
@testable import Server
import Testing

/// The representations written straight to bytes must be byte for byte what the API's encoder
/// writes for them.
@Suite("Direct JSON")
struct JSONBytesTests {
    static let alphabet: [Character] = ["a", "Z", "0", " ", "\"", "\\", "/", "\n", "\r", "\t", "\u{08}", "\u{0C}", "\u{00}", "\u{01}",
                                        "\u{1F}", "\u{7F}", "é", "ß", "\u{2028}", "\u{FEFF}", "中", "🙂", "👩‍👩‍👧", "<", "&", "'"]

    static func text(_ generator: inout some RandomNumberGenerator) -> String {
        String((0..<Int.random(in: 0...12, using: &generator)).map { _ in alphabet.randomElement(using: &generator)! })
    }

    static func session(_ generator: inout some RandomNumberGenerator) -> SessionRecord {
        func maybe<T>(_ value: T) -> T? { Bool.random(using: &generator) ? value : nil }
        func time() -> Date { Date(timeIntervalSince1970: Double(Int64.random(in: 0..<4_102_444_800_000, using: &generator)) / 1000) }
        return SessionRecord(id: text(&generator), agentID: text(&generator), task: text(&generator),
                             state: SessionState.allCases.randomElement(using: &generator)!, createdAt: time(), updatedAt: time(),
                             startedAt: maybe(time()), endedAt: maybe(time()), error: maybe(text(&generator)),
                             waitingReason: maybe(text(&generator)),
                             lastSeq: [0, 1, Int64.max, Int64.random(in: 0..<1_000_000, using: &generator)].randomElement(using: &generator)!)
    }

    static func encoded(_ value: some Encodable) throws -> [UInt8] {
        Array(try APIJSON.encoder.encode(value))
    }

    static func direct(_ value: some DirectJSON) -> [UInt8] {
        var json = JSONBytes()
        value.write(to: &json)
        return Array(json.buffer.readableBytesView)
    }

    @Test("a session, 5,000 random ones with every kind of character to escape")
    func sessions() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<5_000 {
            let session = SessionJSON(Self.session(&generator))
            let expected = try Self.encoded(session), written = Self.direct(session)
            #expect(written == expected, "\(String(decoding: written, as: UTF8.self)) vs \(String(decoding: expected, as: UTF8.self))")
            if written != expected { return }
        }
    }

    @Test("a page of sessions: empty, with and without a cursor")
    func pages() throws {
        var generator = SystemRandomNumberGenerator()
        for count in [0, 1, 2, 7] {
            for cursor in [nil, Self.text(&generator)] {
                let page = SessionPageJSON(sessions: (0..<count).map { _ in SessionJSON(Self.session(&generator)) }, nextCursor: cursor)
                #expect(Self.direct(page) == (try Self.encoded(page)))
            }
        }
    }
}
