import Crypto
import Foundation
import Host
import HTTPTypes
import Hummingbird

/// The web dashboard (`/` and `/ui/...`): pages the gateway renders itself, a small ES module that
/// fills them from `/api` and keeps them live over `/ws`, and a stylesheet. No build step and no
/// CDN: everything is in the binary, served with content hashes in the asset names (cached for a
/// year, renamed when they change) under a strict Content-Security-Policy.
///
/// The pages carry no data: every datum comes from `/api` with the signed-in user's access token,
/// which the page keeps in memory only. The refresh token lives in an HttpOnly, SameSite=Strict
/// cookie scoped to `/ui/session`, which scripts cannot read; the routes that use it also require
/// the `X-Flywheel-Dashboard` header, which another site's page cannot send without a CORS
/// preflight this server never grants.
struct DashboardRoutes {
    let people: PeopleService
    let tokens: AccessTokens
    let maxBody: Int
    let limit: RateLimitMiddleware
    /// `[server] secure_cookies`: the cookie is `Secure` on every answer, not only behind a proxy
    /// that says the request came over HTTPS.
    var secureCookies = false

    static let cookieName = "flywheel_refresh"
    static let cookiePath = "/ui/session"
    static let csrfHeader = HTTPField.Name("X-Flywheel-Dashboard")!

    /// The pages, by the path after `/ui/`, with their titles.
    static let pages: [(path: String, page: String, title: String)] = [
        ("login", "login", "Sign in"), ("fleet", "fleet", "Fleet"), ("sessions", "sessions", "Sessions"),
        ("accounts", "accounts", "Accounts"), ("settings", "settings", "Settings"),
    ]

    func add(to router: Router<APIRequestContext>) {
        router.get("/") { _, _ -> Response in
            Response(status: .found, headers: [.location: "/ui/fleet"])
        }
        router.get("ui") { _, _ -> Response in
            Response(status: .found, headers: [.location: "/ui/fleet"])
        }
        for page in Self.pages {
            router.get("ui/\(page.path)") { _, _ -> Response in
                Self.html(DashboardPage.render(page: page.page, title: page.title))
            }
        }
        router.get("ui/sessions/:id") { _, context -> Response in
            let raw = try context.parameters.require("id")
            return Self.html(DashboardPage.render(page: "session", title: "Session", id: raw.removingPercentEncoding ?? raw))
        }
        router.get("ui/assets/:file") { _, context -> Response in
            guard let asset = DashboardAssets.byName[try context.parameters.require("file")] else {
                throw APIError(.notFound, "NOT_FOUND", "no such dashboard asset", hint: "Asset names change with their content: reload the page")
            }
            return Response(status: .ok, headers: [.contentType: asset.contentType, .cacheControl: "public, max-age=31536000, immutable",
                                                   .init("X-Content-Type-Options")!: "nosniff"],
                             body: ResponseBody(byteBuffer: ByteBuffer(string: asset.content)))
        }

        // The dashboard's sign-in: the refresh token goes into the cookie, the access token to the page.
        // Only the password sign-in counts against the password-guessing limit: every page load
        // renews, and the per-client limit of all routes covers that.
        let session = router.group("ui/session").add(middleware: RequireDashboardHeader())
        session.group().add(middleware: limit).post { request, context -> Response in
            let body = try await request.decodeStrictly(AuthRoutes.Login.self, limit: maxBody)
            let user = try await people.authenticate(email: body.email, password: body.password)
            return try await signedIn(user, refresh: try await people.issueRefreshToken(userID: user.id), context: context)
        }
        session.post("refresh") { request, context -> Response in
            // No cookie is a state, not an error: the page goes to the sign-in form.
            guard let cookie = request.cookies[Self.cookieName]?.value, !cookie.isEmpty else { return Response(status: .noContent) }
            do {
                let (user, next) = try await people.rotate(refreshToken: cookie)
                return try await signedIn(user, refresh: next, context: context)
            } catch let rejected as RefreshTokenRejected {
                if let signIn = rejected.signIn { tokens.endSignIn(signIn) }
                throw rejected
            }
        }
        session.delete { request, context -> Response in
            if let cookie = request.cookies[Self.cookieName]?.value, !cookie.isEmpty {
                do {
                    tokens.endSignIn(try await people.signOut(refreshToken: cookie))
                } catch is RefreshTokenRejected {
                    // Already ended: the cookie goes all the same.
                }
            }
            var response = Response(status: .noContent)
            response.setCookie(cookie("", maxAge: 0, context: context))
            return response
        }
    }

    struct SignedIn: Encodable {
        var token: String
        var expiresIn: Int
        var user: UserJSON
    }

    /// The sign-in cookie: HttpOnly, SameSite=Strict, for `/ui/session` only; `Secure` when the
    /// settings say so or a trusted proxy says the request came over HTTPS.
    private func cookie(_ value: String, maxAge: Int, context: APIRequestContext) -> Cookie {
        Cookie(name: Self.cookieName, value: value, maxAge: maxAge, path: Self.cookiePath,
               secure: secureCookies || context.forwardedHTTPS, httpOnly: true, sameSite: .strict)
    }

    private func signedIn(_ user: UserRecord, refresh: PeopleService.IssuedRefreshToken, context: APIRequestContext) async throws -> Response {
        let token = try await tokens.issue(userID: user.id, signIn: refresh.record.familyID)
        var response = try APIJSON.response(SignedIn(token: token, expiresIn: Int(tokens.lifetime), user: UserJSON(user)))
        response.headers[.cacheControl] = "no-store"
        response.setCookie(cookie(refresh.token, maxAge: Int(people.refreshLifetime), context: context))
        return response
    }

    /// Strict: scripts from this origin only, no inline code, no framing, nothing from elsewhere.
    static let contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
        + "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

    static func html(_ text: String) -> Response {
        Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-cache",
                                        .contentSecurityPolicy: contentSecurityPolicy, .init("X-Content-Type-Options")!: "nosniff",
                                        .init("Referrer-Policy")!: "no-referrer", .init("X-Frame-Options")!: "DENY"],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }
}

/// The dashboard's cookie routes answer only requests that carry `X-Flywheel-Dashboard`: a page of
/// another site cannot add it to a request without a CORS preflight, which this server never grants.
struct RequireDashboardHeader: RouterMiddleware {
    typealias Context = APIRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.headers[DashboardRoutes.csrfHeader] == "1" else {
            throw APIError(.forbidden, "FORBIDDEN", "dashboard sign-in routes need the X-Flywheel-Dashboard: 1 header",
                           hint: "API clients sign in with POST /auth/login")
        }
        return try await next(request, context)
    }
}

/// The HTML of a page: the layout, a heading, and where the module puts the page's content.
enum DashboardPage {
    static func render(page: String, title: String, id: String? = nil) -> String {
        let navigation = DashboardRoutes.pages.filter { $0.page != "login" }.map { entry in
            #"<a href="/ui/\#(entry.path)" data-nav="\#(entry.page)">\#(entry.title)</a>"#
        }.joined(separator: "\n        ")
        let idAttribute = id.map { #" data-id="\#(escape($0))""# } ?? ""
        return """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escape(title)) · Flywheel</title>
            <link rel="icon" href="/ui/assets/\(DashboardAssets.icon.name)" type="image/svg+xml">
            <link rel="stylesheet" href="/ui/assets/\(DashboardAssets.style.name)">
            <script type="module" src="/ui/assets/\(DashboardAssets.script.name)"></script>
            </head>
            <body>
            <a class="skip" href="#main">Skip to content</a>
            <header>
              <span class="brand">Flywheel</span>
              <nav aria-label="Pages"\(page == "login" ? " hidden" : "")>
                    \(navigation)
              </nav>
              <span id="who" aria-live="polite"></span>
              <button type="button" id="sign-out" hidden>Sign out</button>
            </header>
            <main id="main" data-page="\(page)"\(idAttribute) tabindex="-1">
              <h1>\(escape(title))</h1>
              <p id="status" role="status" aria-live="polite"></p>
              <div id="content"></div>
            </main>
            </body>
            </html>
            """
    }

    static func escape(_ text: String) -> String {
        var escaped = ""
        for character in text {
            switch character {
            case "&": escaped += "&amp;"
            case "<": escaped += "&lt;"
            case ">": escaped += "&gt;"
            case "\"": escaped += "&quot;"
            case "'": escaped += "&#39;"
            default: escaped.append(character)
            }
        }
        return escaped
    }
}

/// A file the dashboard serves, named by its content's hash.
struct DashboardAsset: Sendable {
    let name: String
    let contentType: String
    let content: String

    init(stem: String, extension ext: String, contentType: String, content: String) {
        let digest = SHA256.hash(data: Data(content.utf8)).prefix(6).map { String(format: "%02x", $0) }.joined()
        name = "\(stem)-\(digest).\(ext)"
        self.contentType = contentType
        self.content = content
    }
}

enum DashboardAssets {
    static let script = DashboardAsset(stem: "app", extension: "js", contentType: "text/javascript; charset=utf-8", content: DashboardScript.source)
    static let style = DashboardAsset(stem: "app", extension: "css", contentType: "text/css; charset=utf-8", content: DashboardStyle.source)
    static let icon = DashboardAsset(stem: "icon", extension: "svg", contentType: "image/svg+xml", content: """
        <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><circle cx="16" cy="16" r="13" fill="none" stroke="#0b5cad" stroke-width="4"/>\
        <circle cx="16" cy="16" r="4" fill="#0b5cad"/></svg>
        """)
    static let byName: [String: DashboardAsset] = [script.name: script, style.name: style, icon.name: icon]
}
