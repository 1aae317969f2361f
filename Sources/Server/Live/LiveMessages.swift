import Foundation
import Host

/// What a client sends on `/ws`: `{"type": "subscribe", "channel": "session:<id>" | "fleet" | "fleet:states", "after": <seq>}`,
/// `{"type": "unsubscribe", "channel": …}`, `{"type": "ping"}`.
struct ClientMessage: Decodable {
    var type: String
    var channel: String?
    var after: Int64?
}

/// What the server sends. Every message has `kind`: `event`, `subscribed`, `unsubscribed`,
/// `heartbeat`, `pong` or `error`. An event carries the stored event as the HTTP API shows it
/// (`sessionId`, `seq`, `type`, `time`, `data`) and its `channel`.
enum ServerMessage {
    static func event(_ event: EventRecord, channel: String) -> String {
        struct Event: Encodable {
            var kind = "event"
            var channel: String
            var sessionId: String
            var seq: Int64
            var type: String
            var time: Date
            var data: JSONValue
        }
        let shown = EventJSON(event)
        return encode(Event(channel: channel, sessionId: shown.sessionId, seq: shown.seq, type: shown.type, time: shown.time, data: shown.data))
    }

    static func subscribed(_ channel: String, after: Int64?) -> String {
        struct Subscribed: Encodable {
            var kind = "subscribed"
            var channel: String
            var after: Int64?
        }
        return encode(Subscribed(channel: channel, after: after))
    }

    static func unsubscribed(_ channel: String) -> String {
        encode(["kind": "unsubscribed", "channel": channel])
    }

    static let heartbeat = encode(["kind": "heartbeat"])
    static let pong = encode(["kind": "pong"])

    static func error(_ code: String, _ message: String, channel: String? = nil) -> String {
        var fields = ["kind": "error", "code": code, "message": message]
        if let channel { fields["channel"] = channel }
        return encode(fields)
    }

    private static func encode(_ value: some Encodable) -> String {
        // Encoding these plain shapes cannot fail.
        (try? String(decoding: APIJSON.encoder.encode(value), as: UTF8.self)) ?? #"{"kind":"error","code":"INTERNAL"}"#
    }
}
