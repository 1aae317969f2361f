import Foundation
import Host
import Hummingbird

/// `/api/accounts`: BYOA provider accounts. Viewers read; operators add, check with the provider
/// (`verify`), enable or disable, and remove. Credentials go in and are sealed; no answer ever contains them.
struct AccountRoutes {
    let accounts: AccountService
    let maxBody: Int

    struct Add: APIRequestBody {
        static let fields: Set<String> = ["provider", "label", "credentials"]
        var provider: String
        var label: String
        var credentials: JSONValue
    }

    struct Change: APIRequestBody {
        static let fields: Set<String> = ["enabled"]
        var enabled: Bool
    }

    func add(to api: RouterGroup<APIRequestContext>) {
        let group = api.group("accounts").add(middleware: RequireRole(read: .viewer, write: .operator))
        group.get { request, _ -> Response in
            try APIJSON.response(ListJSON(items: try await accounts.list(provider: request.uri.queryParameters.get("provider")).map(AccountJSON.init)))
        }
        group.post { request, _ -> Response in
            let body = try await request.decodeStrictly(Add.self, limit: maxBody)
            guard body.credentials.objectValue != nil else { throw InvalidRequest(field: "credentials", reason: "must be a JSON object") }
            let credentials = String(decoding: try APIJSON.encoder.encode(body.credentials), as: UTF8.self)
            return try APIJSON.response(AccountJSON(try await accounts.add(provider: body.provider, label: body.label, credentialsJSON: credentials)),
                                        status: .created)
        }
        group.get(":id") { _, context -> Response in
            try APIJSON.response(AccountJSON(try await accounts.get(try context.parameters.require("id"))))
        }
        group.patch(":id") { request, context -> Response in
            let body = try await request.decodeStrictly(Change.self, limit: maxBody)
            return try APIJSON.response(AccountJSON(try await accounts.setEnabled(try context.parameters.require("id"), body.enabled)))
        }
        group.post(":id/verify") { _, context -> Response in
            try APIJSON.response(AccountVerificationJSON(try await accounts.verify(try context.parameters.require("id"))))
        }
        group.delete(":id") { _, context -> Response in
            try await accounts.delete(try context.parameters.require("id"))
            return Response(status: .noContent)
        }
    }
}
