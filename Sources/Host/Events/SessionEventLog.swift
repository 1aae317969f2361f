import Foundation
import Metrics

/// Persist, then publish: an event reaches subscribers only after it is committed, so nothing a
/// client saw can be lost by a crash.
public struct SessionEventLog: Sendable {
    public let store: any GatewayStore
    public let hub: EventHub
    /// `flywheel_events_stored_total`: made when the log is (after the metrics system is set up).
    let stored = Counter(label: "flywheel_events_stored_total")

    public init(store: any GatewayStore, hub: EventHub) {
        self.store = store
        self.hub = hub
    }

    /// Appends one session's events and publishes them once committed.
    @discardableResult
    public func append(_ events: [NewEvent]) async throws -> [EventRecord] {
        guard !events.isEmpty else { return [] }
        let records = try await store.appendEvents(events)
        stored.increment(by: records.count)
        hub.publish(records)
        return records
    }

    /// Appends one host event (`host.*`) with a JSON object payload.
    @discardableResult
    public func appendHostEvent(sessionID: String, type: String, _ payload: [String: Any]) async throws -> EventRecord {
        var object = payload
        object["type"] = type
        let records = try await append([NewEvent(sessionID: sessionID, type: type, payload: HostJSON.encode(object))])
        guard let record = records.first else { throw StoreError(kind: .database, message: "the store stored no event") }
        return record
    }

    /// Changes a session's state, compare-and-set, with its `host.session.state` event committed in
    /// the same transaction; publishes the event.
    @discardableResult
    public func transition(_ transition: SessionTransition) async throws -> SessionRecord {
        let result = try await store.transitionSession(transition)
        hub.publish([result.event])
        return result.session
    }
}
