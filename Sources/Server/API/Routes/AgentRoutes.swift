import Foundation
import Host
import Hummingbird

/// `/api/agents`: viewers read; operators create, change and delete.
struct AgentRoutes {
    let agents: AgentService
    let maxBody: Int

    struct Create: APIRequestBody {
        static let fields: Set<String> = ["name", "driverId", "config", "environment", "workspace", "network", "enabled"]
        var name: String
        var driverId: String
        var config: JSONValue?
        var environment: [String: String]?
        var workspace: String?
        var network: Bool?
        var enabled: Bool?
    }

    /// Every field optional: what is sent replaces what is stored; `environment` as a whole.
    struct Change: APIRequestBody {
        static let fields: Set<String> = ["name", "driverId", "config", "environment", "workspace", "network", "enabled"]
        var name: String?
        var driverId: String?
        var config: JSONValue?
        var environment: [String: String]?
        var workspace: String?
        var network: Bool?
        var enabled: Bool?
    }

    func add(to api: RouterGroup<APIRequestContext>) {
        let group = api.group("agents").add(middleware: RequireRole(read: .viewer, write: .operator))
        group.get { _, _ -> Response in
            try APIJSON.response(ListJSON(items: try await agents.list().map(AgentJSON.init)))
        }
        group.post { request, _ -> Response in
            let body = try await request.decodeStrictly(Create.self, limit: maxBody)
            let definition = AgentService.Definition(
                name: body.name, driverID: body.driverId, configJSON: try Self.configJSON(body.config), environment: body.environment ?? [:],
                workspace: body.workspace, enabled: body.enabled ?? true, network: body.network)
            return try APIJSON.response(AgentJSON(try await agents.create(definition)), status: .created)
        }
        group.get(":id") { _, context -> Response in
            try APIJSON.response(AgentJSON(try await agents.get(try context.parameters.require("id"))))
        }
        group.patch(":id") { request, context -> Response in
            let body = try await request.decodeStrictly(Change.self, limit: maxBody)
            let existing = try await agents.get(try context.parameters.require("id"))
            let definition = AgentService.Definition(
                name: body.name ?? existing.name, driverID: body.driverId ?? existing.driverID,
                configJSON: try body.config.map { try Self.configJSON($0) } ?? existing.configJSON,
                environment: body.environment ?? existing.environment, workspace: body.workspace ?? existing.workspace,
                enabled: body.enabled ?? (existing.status == .active), network: body.network ?? existing.network)
            return try APIJSON.response(AgentJSON(try await agents.update(existing.id, definition)))
        }
        group.delete(":id") { _, context -> Response in
            try await agents.delete(try context.parameters.require("id"))
            return Response(status: .noContent)
        }
    }

    static func configJSON(_ value: JSONValue?) throws -> String {
        guard let value else { return "{}" }
        guard value.objectValue != nil else { throw InvalidRequest(field: "config", reason: "must be a JSON object") }
        return String(decoding: try APIJSON.encoder.encode(value), as: UTF8.self)
    }
}
