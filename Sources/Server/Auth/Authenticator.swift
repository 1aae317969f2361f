import Host
import Hummingbird

/// Requires `Authorization: Bearer <access token or API key>` and sets the request's identity from
/// the user it names, as the store has it now (a deleted user's tokens stop working at once).
struct Authenticator: RouterMiddleware {
    typealias Context = APIRequestContext
    let tokens: AccessTokens
    let people: PeopleService
    /// For the WebSocket upgrade: a `?ticket=` from `POST /api/ws-ticket` also authenticates.
    var tickets: WebSocketTickets?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let tickets, let ticket = request.uri.queryParameters.get("ticket") {
            let invalid = APIError.unauthenticated("the ticket is unknown, used or expired; get a new one from POST /api/ws-ticket",
                                                   code: "INVALID_TICKET")
            guard let redeemed = tickets.redeem(ticket) else { throw invalid }
            // A ticket bought just before its sign-in ended opens nothing.
            if let signIn = redeemed.signIn, tokens.hasEnded(signIn: signIn) { throw AccessTokens.revoked }
            let user: UserRecord
            do {
                user = try await people.user(id: redeemed.userID)
            } catch is UserNotFound {
                throw invalid
            }
            return try await next(request, authenticated(context, as: user, key: redeemed.keyID, signIn: redeemed.signIn))
        }
        guard let header = request.headers[.authorization] else { throw APIError.unauthenticated("this route needs a signed-in user") }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer", !parts[1].isEmpty else {
            throw APIError.unauthenticated("the Authorization header must be 'Bearer <token>'")
        }
        let credential = String(parts[1])
        let user: UserRecord
        var keyID: String?
        var signIn: String?
        if credential.hasPrefix(PeopleService.apiKeyPrefix) {
            let (keyUser, key) = try await people.authenticate(apiKey: credential)
            user = keyUser
            keyID = key.id
        } else {
            let verified = try await tokens.verifySignIn(credential) { [people] signIn in try await people.signInHasEnded(signIn) }
            signIn = verified.signIn
            do {
                user = try await people.user(id: verified.userID)
            } catch is UserNotFound {
                throw APIError.unauthenticated("the token's user no longer exists", code: "INVALID_TOKEN")
            }
        }
        return try await next(request, authenticated(context, as: user, key: keyID, signIn: signIn))
    }

    private func authenticated(_ context: Context, as user: UserRecord, key: String?, signIn: String?) -> Context {
        var context = context
        context.identity = Identity(userID: user.id, email: user.email, role: user.role, credentialID: key, signIn: signIn)
        context.logger[metadataKey: "flywheel.user.id"] = .string(user.id)
        return context
    }
}

/// Lets a request through when its role is high enough: `read` for GET and HEAD, `write` for the
/// rest. Roles rank admin > operator > viewer.
struct RequireRole: RouterMiddleware {
    typealias Context = APIRequestContext
    let read: UserRecord.Role
    let write: UserRecord.Role

    init(read: UserRecord.Role, write: UserRecord.Role) {
        self.read = read
        self.write = write
    }

    init(_ role: UserRecord.Role) {
        self.init(read: role, write: role)
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let identity = try context.authenticated()
        let needed = request.method == .get || request.method == .head ? read : write
        guard Self.rank(identity.role) >= Self.rank(needed) else { throw APIError.forbidden(role: identity.role, needs: needed) }
        return try await next(request, context)
    }

    static func rank(_ role: UserRecord.Role) -> Int {
        switch role {
        case .viewer: 0
        case .operator: 1
        case .admin: 2
        }
    }
}
