import Foundation
import HostTestSupport
import HTTPTypes
import Testing

/// The web dashboard: its pages, assets and sign-in over HTTP, and the whole of it in a real
/// browser (headless Chromium from Debian, driven by Playwright for Python from `.build/test-venv`;
/// `scripts/install-deps --tests` installs both).
@Suite("dashboard")
struct DashboardTests {
    static func folder() throws -> TemporaryDirectory {
        let folder = try ServeCommandTests.folder()
        // The guard holds `git stash drop` for an operator, as the browser test approves it.
        try folder.write("flywheel.toml", """
            [server]
            password_cost = 4
            rate_limit_burst = 100000
            client_rate_limit_burst = 100000

            [policy.modes]
            "core.git" = "ask"
            """)
        return folder
    }

    @Test("pages carry a strict CSP and no data; assets are named by their content; the cookie sign-in rotates and needs its header")
    func overHTTP() async throws {
        let folder = try Self.folder()
        defer { folder.remove() }
        let served = try await ServeCommandTests.Served(folder: folder)
        let client = served.client!
        let root = try await client.get("/")
        #expect(root.status == .found && root.headers[.location] == "/ui/fleet")
        let fleet = try await client.get("/ui/fleet")
        #expect(fleet.status == .ok)
        #expect(fleet.headers[.contentSecurityPolicy]?.contains("default-src 'none'; script-src 'self'") == true)
        #expect(fleet.headers[.contentType] == "text/html; charset=utf-8")
        let html = fleet.text
        let script = try #require(html.firstMatch(of: /\/ui\/assets\/(app-[0-9a-f]{12}\.js)/)?.1)
        #expect(!html.contains("<script>") && !html.contains("style="), "no inline script or style: the CSP forbids them")
        let asset = try await client.get("/ui/assets/\(script)")
        #expect(asset.status == .ok && asset.headers[.cacheControl] == "public, max-age=31536000, immutable")
        #expect(asset.headers[.contentType] == "text/javascript; charset=utf-8")
        #expect(try await client.get("/ui/assets/app-000000000000.js").errorCode == "NOT_FOUND")
        // An id in the path is escaped into the page, never markup.
        #expect(try await client.get("/ui/sessions/%3Cscript%3E").text.contains(#"data-id="&lt;script&gt;""#))

        // The dashboard's sign-in: the refresh token only in an HttpOnly cookie, which rotates.
        let login = ["email": "root@example.com", "password": "root-password"]
        #expect(try await client.post("/ui/session", login).errorCode == "FORBIDDEN", "the header is required")
        let header: [(HTTPField.Name, String)] = [(HTTPField.Name("X-Flywheel-Dashboard")!, "1")]
        let signedIn = try await client.request(.post, "/ui/session", json: login, headers: header)
        #expect(signedIn.status == .ok)
        #expect(signedIn["refreshToken"] == nil && (signedIn["token"] as? String)?.isEmpty == false)
        let cookie = try #require(signedIn.headers[.setCookie])
        #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/ui/session"), "\(cookie)")
        #expect(!cookie.contains("Secure"), "plain HTTP on loopback: a Secure cookie would not come back")
        let pair = try #require(cookie.split(separator: ";").first.map(String.init))
        let renewed = try await client.request(.post, "/ui/session/refresh", headers: header + [(.cookie, pair)])
        #expect(renewed.status == .ok)
        let renewedPair = try #require(renewed.headers[.setCookie]?.split(separator: ";").first.map(String.init))
        #expect(renewedPair != pair)
        // A reload cut the answer off: the browser still holds the old cookie, and is signed in again.
        let reloaded = try await client.request(.post, "/ui/session/refresh", headers: header + [(.cookie, pair)])
        #expect(reloaded.status == .ok, "\(reloaded.text)")
        let reloadedPair = try #require(reloaded.headers[.setCookie]?.split(separator: ";").first.map(String.init))
        // The answer that was cut off turns up after all: two parties hold the sign-in, so it ends.
        #expect(try await client.request(.post, "/ui/session/refresh", headers: header + [(.cookie, renewedPair)]).errorCode == "REFRESH_TOKEN_REUSED",
                "a replaced cookie presented again ends the sign-in")
        #expect(try await client.get("/api/me", token: reloaded["token"] as? String).errorCode == "TOKEN_REVOKED")
        #expect(try await client.request(.post, "/ui/session/refresh", headers: header + [(.cookie, reloadedPair)]).errorCode == "INVALID_REFRESH_TOKEN")
        #expect(try await client.request(.post, "/ui/session/refresh", headers: header).status == .noContent, "no cookie: not signed in")
        #expect(try await served.terminate() == 0)
    }

    @Test("the cookie is Secure when the settings say so, or when a trusted proxy says the request came over HTTPS; from anyone else the header changes nothing")
    func secureCookie() async throws {
        let login = ["email": "root@example.com", "password": "root-password"]
        let dashboard = (HTTPField.Name("X-Flywheel-Dashboard")!, "1")
        let https = (HTTPField.Name("X-Forwarded-Proto")!, "https")
        func cookie(_ settings: String, headers: [(HTTPField.Name, String)]) async throws -> String {
            let folder = try Self.folder()
            defer { folder.remove() }
            try folder.write("flywheel.toml", "[server]\npassword_cost = 4\n" + settings)
            let served = try await ServeCommandTests.Served(folder: folder)
            let answers: (APIResponse, APIResponse)
            do {
                let signedIn = try await served.client!.request(.post, "/ui/session", json: login, headers: [dashboard] + headers)
                answers = (signedIn, try await served.client!.request(.delete, "/ui/session", headers: [dashboard] + headers))
            } catch {
                _ = try? await served.terminate()
                throw error
            }
            let (signedIn, signedOut) = answers
            #expect(signedIn.status == .ok)
            #expect(signedOut.headers[.setCookie]?.contains("Secure") == signedIn.headers[.setCookie]?.contains("Secure"),
                    "the cookie that clears it has the same attributes")
            #expect(try await served.terminate() == 0)
            return signedIn.headers[.setCookie] ?? ""
        }
        #expect(!(try await cookie("", headers: [https])).contains("Secure"), "no trusted proxy: anyone can write the header")
        #expect(try await cookie("trusted_proxies = [\"127.0.0.1\"]\n", headers: [https]).contains("; Secure"))
        #expect(!(try await cookie("trusted_proxies = [\"127.0.0.1\"]\n", headers: [(https.0, "http")])).contains("Secure"))
        #expect(try await cookie("secure_cookies = true\n", headers: []).contains("; Secure"))
    }

    @Test("in a real browser: sign in, create an agent and a session, watch its events live, approve a held command, check an account's key; a viewer gets no buttons")
    func inBrowser() async throws {
        let folder = try Self.folder()
        defer { folder.remove() }
        // The provider the Accounts page checks a key with: a local stand-in that refuses it, as OpenAI documents.
        let provider = try await FakeProvider([
            ["status": 401, "headers": [["content-type", "application/json"]],
             "chunks": [#"{"error":{"message":"Incorrect API key provided: sk-brows*****-42.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#]],
        ])
        defer { provider.stop() }
        let settings = try String(contentsOf: folder.file("flywheel.toml"), encoding: .utf8)
        try folder.write("flywheel.toml", settings + "\n[accounts.providers.local]\nformat = \"openai\"\nbase_url = \"\(provider.baseURL)/v1\"\n")
        let served = try await ServeCommandTests.Served(folder: folder)
        let shots = TestPaths.buildDirectory.appendingPathComponent("dashboard-screenshots")
        let run = try await ProcessRunner.runDetached(
            URL(fileURLWithPath: TestPaths.testPython),
            [TestPaths.packageRoot.appendingPathComponent("Tests/Fixtures/dashboard/dashboard_test.py").path,
             "http://127.0.0.1:\(served.port)", "root@example.com", "root-password", shots.path],
            environment: ["PATH": "/usr/bin:/bin", "HOME": folder.url.path], timeout: 300)
        #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)\nscreenshots: \(shots.path)")
        #expect(try provider.headers(0)["authorization"] == "Bearer sk-browser-secret-42", "the key went to the configured provider")
        for name in ["fleet.png", "session-held.png", "session-done.png", "accounts.png", "viewer-session.png"] {
            #expect(FileManager.default.fileExists(atPath: shots.appendingPathComponent(name).path), "\(name)")
        }
        #expect(try await served.terminate() == 0, "\(served.stderr)")
    }
}
