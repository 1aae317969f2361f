import Foundation
import Host
import Hummingbird

/// `/auth`: sign in, refresh, sign out. These routes take no bearer token: the credentials or the
/// refresh token in the body are what authenticates them.
struct AuthRoutes {
    let people: PeopleService
    let tokens: AccessTokens
    let maxBody: Int
    /// Stricter than other routes: these are where passwords are guessed.
    let limit: RateLimitMiddleware

    struct Login: APIRequestBody {
        static let fields: Set<String> = ["email", "password"]
        var email: String
        var password: String
    }

    struct RefreshBody: APIRequestBody {
        static let fields: Set<String> = ["refreshToken"]
        var refreshToken: String
    }

    struct TokenPair: Encodable {
        var token: String
        var refreshToken: String
        var expiresIn: Int
        var tokenType = "Bearer"
    }

    func add(to router: Router<APIRequestContext>) {
        let auth = router.group("auth").add(middleware: limit)
        auth.post("login") { request, _ -> Response in
            let body = try await request.decodeStrictly(Login.self, limit: maxBody)
            let user = try await people.authenticate(email: body.email, password: body.password)
            let refresh = try await people.issueRefreshToken(userID: user.id)
            return try await pair(userID: user.id, refresh: refresh)
        }
        auth.post("refresh") { request, _ -> Response in
            let body = try await request.decodeStrictly(RefreshBody.self, limit: maxBody)
            do {
                let (user, next) = try await people.rotate(refreshToken: body.refreshToken)
                return try await pair(userID: user.id, refresh: next)
            } catch let rejected as RefreshTokenRejected {
                // A token used twice ends its whole sign-in, access tokens included.
                if let signIn = rejected.signIn { tokens.endSignIn(signIn) }
                throw rejected
            }
        }
        auth.post("logout") { request, _ -> Response in
            let body = try await request.decodeStrictly(RefreshBody.self, limit: maxBody)
            tokens.endSignIn(try await people.signOut(refreshToken: body.refreshToken))
            return Response(status: .noContent)
        }
    }

    private func pair(userID: String, refresh: PeopleService.IssuedRefreshToken) async throws -> Response {
        let token = try await tokens.issue(userID: userID, signIn: refresh.record.familyID)
        var response = try APIJSON.response(TokenPair(token: token, refreshToken: refresh.token,
                                                      expiresIn: Int(tokens.lifetime)))
        response.headers[.cacheControl] = "no-store"
        return response
    }
}
