import Foundation

/// Persist, then publish: an event reaches subscribers only after it is committed, so nothing a
/// client saw can be lost by a crash.
public struct SessionEventLog: Sendable {
    public let store: any GatewayStore
    public let hub: EventHub

    public init(store: any GatewayStore, hub: EventHub) {
        self.store = store
        self.hub = hub
    }

    /// Appends one session's events and publishes them once committed.
    @discardableResult
    public func append(_ events: [NewEvent]) async throws -> [EventRecord] {
        guard !events.isEmpty else { return [] }
        let records = try await store.appendEvents(events)
        hub.publish(records)
        return records
    }

    /// Appends one host event (`host.*`) with a JSON object payload.
    @discardableResult
    public func appendHostEvent(sessionID: String, type: String, _ payload: [String: Any]) async throws -> EventRecord? {
        var object = payload
        object["type"] = type
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return try await append([NewEvent(sessionID: sessionID, type: type, payload: String(decoding: data, as: UTF8.self))]).first
    }
}
