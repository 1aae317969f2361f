import Foundation
import Host
import Hummingbird

/// `/api/me` and `/api/api-keys` (their own keys) for anyone signed in; `/api/users` for admins.
struct PeopleRoutes {
    let people: PeopleService
    let tokens: AccessTokens
    let maxBody: Int

    struct Create: APIRequestBody {
        static let fields: Set<String> = ["email", "password", "role"]
        var email: String
        var password: String
        var role: UserRecord.Role
    }

    struct Change: APIRequestBody {
        static let fields: Set<String> = ["role", "password"]
        var role: UserRecord.Role?
        var password: String?
    }

    struct CreateKey: APIRequestBody {
        static let fields: Set<String> = ["name", "expiresInDays"]
        var name: String
        var expiresInDays: Double?
    }

    func add(to api: RouterGroup<APIRequestContext>) {
        let keys = api.group("api-keys").add(middleware: RequireRole(.viewer))
        keys.post { request, context -> Response in
            let body = try await request.decodeStrictly(CreateKey.self, limit: maxBody)
            let issued = try await people.createAPIKey(userID: try context.authenticated().userID, name: body.name,
                                                       lifetime: body.expiresInDays.map { $0 * 86_400 })
            var response = try APIJSON.response(APIKeyJSON(issued.record, key: issued.key), status: .created)
            response.headers[.cacheControl] = "no-store"
            return response
        }
        keys.get { _, context -> Response in
            try APIJSON.response(ListJSON(items: try await people.apiKeys(userID: try context.authenticated().userID).map { APIKeyJSON($0) }))
        }
        keys.delete(":id") { _, context -> Response in
            let identity = try context.authenticated()
            _ = try await people.revokeAPIKey(id: try context.parameters.require("id"), userID: identity.userID, asAdmin: identity.role == .admin)
            return Response(status: .noContent)
        }
        api.get("me") { _, context -> Response in
            try APIJSON.response(UserJSON(try await people.user(id: try context.authenticated().userID)))
        }
        let users = api.group("users").add(middleware: RequireRole(.admin))
        users.get { _, _ -> Response in
            try APIJSON.response(ListJSON(items: try await people.users().map(UserJSON.init)))
        }
        users.post { request, _ -> Response in
            let body = try await request.decodeStrictly(Create.self, limit: maxBody)
            return try APIJSON.response(UserJSON(try await people.createUser(email: body.email, password: body.password, role: body.role)),
                                        status: .created)
        }
        users.get(":id") { _, context -> Response in
            try APIJSON.response(UserJSON(try await people.user(id: try context.parameters.require("id"))))
        }
        users.patch(":id") { request, context -> Response in
            let body = try await request.decodeStrictly(Change.self, limit: maxBody)
            let changed = try await people.changeUser(id: try context.parameters.require("id"), role: body.role, password: body.password)
            // A new password ended every sign-in of the user: their access tokens too.
            if body.password != nil { tokens.recheck(userID: changed.id) }
            return try APIJSON.response(UserJSON(changed))
        }
        users.delete(":id") { _, context -> Response in
            try await people.deleteUser(id: try context.parameters.require("id"))
            return Response(status: .noContent)
        }
    }
}
