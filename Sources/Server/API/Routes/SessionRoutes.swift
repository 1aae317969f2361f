import Foundation
import Host
import Hummingbird

/// `/api/sessions`: viewers read; operators create and control.
struct SessionRoutes {
    let sessions: SessionService
    let events: EventService
    let maxBody: Int

    struct Create: APIRequestBody {
        static let fields: Set<String> = ["agentId", "task"]
        var agentId: String
        var task: String
    }

    static let maxPageSize = 200

    func add(to api: RouterGroup<APIRequestContext>) {
        let group = api.group("sessions").add(middleware: RequireRole(read: .viewer, write: .operator))
        group.post { request, _ -> Response in
            let body = try await request.decodeStrictly(Create.self, limit: maxBody)
            return APIJSON.response(SessionJSON(try await sessions.create(agentID: body.agentId, task: body.task)), status: .created)
        }
        group.get { request, _ -> Response in
            let query = request.uri.queryParameters
            var filter = SessionFilter()
            filter.states = try Self.values(query.get("state"), field: "state", of: SessionState.self)
            filter.agentID = query.get("agentId")
            let limit = try Self.integer(query.get("limit"), field: "limit", in: 1...Self.maxPageSize) ?? 50
            let page = try await sessions.list(filter, limit: limit, cursor: query.get("cursor"))
            return APIJSON.response(SessionPageJSON(sessions: page.sessions.map(SessionJSON.init), nextCursor: page.nextCursor))
        }
        group.get(":id") { _, context -> Response in
            APIJSON.response(SessionJSON(try await sessions.show(try context.parameters.require("id"))))
        }
        group.post(":id/pause") { _, context -> Response in
            APIJSON.response(SessionJSON(try await sessions.pause(try context.parameters.require("id"))))
        }
        group.post(":id/resume") { _, context -> Response in
            APIJSON.response(SessionJSON(try await sessions.resume(try context.parameters.require("id"))))
        }
        group.post(":id/cancel") { _, context -> Response in
            APIJSON.response(SessionJSON(try await sessions.cancel(try context.parameters.require("id"))))
        }
        group.get(":id/events") { request, context -> Response in
            let query = request.uri.queryParameters
            let after = try Self.integer(query.get("after"), field: "after", in: 0...Int.max) ?? 0
            let limit = try Self.integer(query.get("limit"), field: "limit", in: 1...1000) ?? 200
            let stored = try await events.events(sessionID: try context.parameters.require("id"), after: Int64(after), limit: limit)
            return try APIJSON.response(ListJSON(items: stored.map(EventJSON.init)))
        }
        group.get(":id/checkpoints") { _, context -> Response in
            try APIJSON.response(ListJSON(items: try await sessions.checkpoints(try context.parameters.require("id")).map(CheckpointJSON.init)))
        }
        group.get(":id/decisions") { _, context -> Response in
            try APIJSON.response(ListJSON(items: try await sessions.commandDecisions(try context.parameters.require("id")).map(CommandDecisionJSON.init)))
        }
    }

    /// A query parameter that lists values of `type`, comma-separated (`state=running,queued`), when given.
    static func values<Value: RawRepresentable & CaseIterable & Hashable>(_ text: String?, field: String, of type: Value.Type) throws -> Set<Value>?
        where Value.RawValue == String {
        guard let text else { return nil }
        let known = Value.allCases.map(\.rawValue).joined(separator: ", ")
        guard !text.isEmpty else { throw InvalidRequest(field: field, reason: "must name at least one of \(known)") }
        var set: Set<Value> = []
        for name in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard let value = Value(rawValue: String(name)) else {
                throw InvalidRequest(field: field, reason: "unknown value '\(name)' (one of \(known))")
            }
            set.insert(value)
        }
        return set
    }

    /// A query parameter that must be an integer in `range`, when given.
    static func integer(_ text: String?, field: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let text else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw InvalidRequest(field: field, reason: "must be an integer from \(range.lowerBound) to \(range.upperBound == Int.max ? "any" : String(range.upperBound))")
        }
        return value
    }
}
