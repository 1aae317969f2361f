import Foundation
@_spi(Testing) import Host
import HostTestSupport
import Hummingbird
import Server
import Testing

@Suite("agents, sessions and held commands over HTTP")
struct RouteTests {
    @Test("health needs no token; every response carries a request id, the client's own when it sent a sensible one")
    func healthAndRequestIDs() async throws {
        let server = try await ServerHarness()
        try await server.run { client in
            let health = try await client.get("/health")
            #expect(health.status == .ok && health["status"] as? String == "ok")
            // A new id is a random (version 4) UUID in lowercase, different on every request.
            var ids: Set<String> = []
            for _ in 0..<50 {
                let id = try #require(try await client.get("/health").headers[.init("X-Request-ID")!])
                let uuid = try #require(UUID(uuidString: id), "\(id)")
                #expect(id == id.lowercased() && uuid.uuid.6 >> 4 == 4 && uuid.uuid.8 >> 6 == 0b10, "\(id)")
                ids.insert(id)
            }
            #expect(ids.count == 50)
            let ready = try await client.get("/health/ready")
            #expect(ready.status == .ok && ready["status"] as? String == "ready")
            let mine = try await client.request(.get, "/api/sessions", headers: [(.init("X-Request-ID")!, "trace-42")])
            #expect(mine.headers[.init("X-Request-ID")!] == "trace-42")
            let bad = try await client.request(.get, "/health", headers: [(.init("X-Request-ID")!, "has space")])
            #expect(bad.headers[.init("X-Request-ID")!] != "has space")
        }
        await server.remove()
    }

    @Test("an agent is created on a loaded driver, run as a session to done, and its events and decisions read back")
    func sessionEndToEnd() async throws {
        let server = try await ServerHarness()
        try await server.run { client in
            let token = try await client.signIn(.operator).token
            let agent = try await client.request(.post, "/api/agents", token: token, json: [
                "name": "builder", "driverId": "test.scripted", "environment": ["API_TOKEN": "s3cret"],
            ])
            #expect(agent.status == .created, "\(agent.text)")
            let agentID = try #require(agent["id"] as? String)
            #expect(agent["environmentNames"] as? [String] == ["API_TOKEN"])
            #expect(!agent.text.contains("s3cret"))
            let created = try await client.post("/api/sessions", token: token, ["agentId": agentID, "task": "command=echo+hi events=1"])
            #expect(created.status == .created, "\(created.text)")
            let sessionID = try #require(created["id"] as? String)
            let done = try await server.sessions.waitForState(sessionID, [.done, .failed])
            #expect(done.state == .done)
            let shown = try await client.get("/api/sessions/\(sessionID)", token: token)
            #expect(shown["state"] as? String == "done")
            let events = try await client.get("/api/sessions/\(sessionID)/events?after=0&limit=1000", token: token).items
            #expect(events.map { $0["seq"] as? Int } == (1...events.count).map { $0 })
            #expect(events.contains { $0["type"] as? String == "host.command.output" && ($0["data"] as? [String: Any])?["text"] as? String == "hi\n" })
            let later = try await client.get("/api/sessions/\(sessionID)/events?after=2", token: token).items
            #expect(later.first?["seq"] as? Int == 3)
            let decisions = try await client.get("/api/sessions/\(sessionID)/decisions", token: token).items
            #expect(decisions.first?["command"] as? String == "echo hi")
            #expect(decisions.first?["decision"] as? String == "allow")
            // Listing, filtered by state and agent.
            let page = try await client.get("/api/sessions?state=done&agentId=\(agentID)", token: token)
            #expect((page["sessions"] as? [[String: Any]])?.map { $0["id"] as? String } == [sessionID])
            let cancel = try await client.post("/api/sessions/\(sessionID)/resume", token: token)
            #expect(cancel.status == .conflict && cancel.errorCode == "ILLEGAL_TRANSITION")
        }
        await server.remove()
    }

    @Test("every session's command decisions are listed newest first, filtered by verdict, status and session, a page at a time")
    func decisionLog() async throws {
        let server = try await ServerHarness()
        let agent = try await server.sessions.agent()
        try await server.run { client in
            let token = try await client.signIn(.viewer).token
            let allowed = try await server.sessions.submit("command=echo+hi events=1", agent: agent)
            _ = try await server.sessions.waitForState(allowed.id, [.done])
            let denied = try await server.sessions.submit("command=rm+-rf+/ events=1", agent: agent)
            _ = try await server.sessions.waitForState(denied.id, [.done, .failed])
            let all = try await client.get("/api/dcg/decisions", token: token)
            #expect(all.status == .ok, "\(all.text)")
            let decisions = try #require(all["decisions"] as? [[String: Any]])
            #expect(decisions.map { $0["sessionId"] as? String } == [denied.id, allowed.id], "newest first")
            #expect(decisions.first?["decision"] as? String == "deny")
            #expect(decisions.first?["status"] as? String == "blocked")
            #expect(decisions.last?["status"] as? String == "ran")
            #expect(all["nextCursor"] == nil)
            let deny = try await client.get("/api/dcg/decisions?decision=deny,ask", token: token)["decisions"] as? [[String: Any]]
            #expect(deny?.map { $0["sessionId"] as? String } == [denied.id])
            let ran = try await client.get("/api/dcg/decisions?status=ran&sessionId=\(allowed.id)", token: token)["decisions"] as? [[String: Any]]
            #expect(ran?.map { $0["command"] as? String } == ["echo hi"])
            #expect((try await client.get("/api/dcg/decisions?status=pending", token: token)["decisions"] as? [[String: Any]])?.isEmpty == true)
            // Paged: one at a time, each decision once.
            let first = try await client.get("/api/dcg/decisions?limit=1", token: token)
            let cursor = try #require(first["nextCursor"] as? String)
            let second = try await client.get("/api/dcg/decisions?limit=1&cursor=\(cursor)", token: token)
            #expect((first["decisions"] as? [[String: Any]])?.map { $0["sessionId"] as? String } == [denied.id])
            #expect((second["decisions"] as? [[String: Any]])?.map { $0["sessionId"] as? String } == [allowed.id])
            #expect(second["nextCursor"] == nil)
            // Bad input says which parameter is wrong.
            for (query, field) in [("decision=maybe", "decision"), ("status=", "status"), ("limit=201", "limit"), ("cursor=garbage", "cursor")] {
                let bad = try await client.get("/api/dcg/decisions?\(query)", token: token)
                #expect(bad.status == .badRequest && bad.errorCode == "INVALID_FIELD" && bad.errorField == field, "\(query): \(bad.text)")
            }
            let unknown = try await client.get("/api/dcg/decisions?sessionId=nope", token: token)
            #expect(unknown.status == .notFound && unknown.errorCode == "SESSION_NOT_FOUND")
            #expect(try await client.get("/api/dcg/decisions").status == .unauthorized)
        }
        await server.remove()
    }

    @Test("admins read and replace the policy: checked with the line at fault, compare-and-set, applied to the next check, and dropped again")
    func policyConfig() async throws {
        let server = try await ServerHarness()
        try await server.run { client in
            let admin = try await client.signIn(.admin).token
            let operatorToken = try await client.signIn(.operator).token
            #expect(try await client.get("/api/dcg/config", token: operatorToken).status == .forbidden)
            let current = try await client.get("/api/dcg/config", token: admin)
            #expect(current.status == .ok, "\(current.text)")
            #expect(current["source"] as? String == "configured")
            #expect((current["enabledPacks"] as? [String])?.contains("core.git") == true)
            let version = try #require(current["version"] as? String)
            func check(_ command: String) async throws -> String? {
                try await client.post("/api/dcg/check", token: operatorToken, ["command": command])["decision"] as? String
            }
            #expect(try await check("git reset --hard") == "deny")

            let bad = try await client.request(.put, "/api/dcg/config", token: admin, json: ["toml": "[modes]\n\"core.git\" = \"maybe\"\n"])
            #expect(bad.status == .unprocessableContent && bad.errorCode == "INVALID_POLICY" && bad.errorField == "toml", "\(bad.text)")
            #expect((bad["error"] as? [String: Any])?["line"] as? Int == 2)
            #expect(try await client.request(.put, "/api/dcg/config", token: operatorToken, json: ["toml": ""]).status == .forbidden)
            let unknownField = try await client.request(.put, "/api/dcg/config", token: admin, json: ["toml": "", "packs": "all"])
            #expect(unknownField.errorCode == "UNKNOWN_FIELD")

            let replaced = try await client.request(.put, "/api/dcg/config", token: admin, json: [
                "toml": "[modes]\n\"core.git\" = \"ask\"\n", "version": version,
            ])
            #expect(replaced.status == .ok, "\(replaced.text)")
            #expect(replaced["source"] as? String == "api")
            #expect((replaced["modes"] as? [String: String])?["core.git"] == "ask")
            #expect(try await check("git reset --hard") == "ask")
            let stale = try await client.request(.put, "/api/dcg/config", token: admin, json: ["toml": "", "version": version])
            #expect(stale.status == .conflict && stale.errorCode == "POLICY_CHANGED", "\(stale.text)")
            #expect(FileManager.default.fileExists(atPath: server.gateway.policy.file.path))

            let dropped = try await client.request(.delete, "/api/dcg/config?version=\(replaced["version"] as? String ?? "")", token: admin)
            #expect(dropped.status == .ok, "\(dropped.text)")
            #expect(dropped["source"] as? String == "configured")
            #expect(try await check("git reset --hard") == "deny")
        }
        await server.remove()
    }

    @Test("a held command is approved over HTTP, recorded under the operator's email, and runs")
    func approval() async throws {
        var policy = PolicyConfiguration.default
        policy.modes["core.git"] = .ask
        let server = try await ServerHarness(policy: policy)
        let agent = try await server.sessions.agent()
        try await server.run { client in
            let token = try await client.signIn(.operator).token
            let viewer = try await client.signIn(.viewer).token
            let session = try await client.post("/api/sessions", token: token, ["agentId": agent.id, "task": "command=git+stash+drop+||+echo+ran events=1"])
            let sessionID = try #require(session["id"] as? String)
            var held: [[String: Any]] = []
            for _ in 0..<500 where held.isEmpty {
                held = try await client.get("/api/dcg/pending?sessionId=\(sessionID)", token: viewer).items
                if held.isEmpty { try await Task.sleep(for: .milliseconds(20)) }
            }
            let id = try #require(held.first?["id"] as? String)
            #expect(held.first?["ruleId"] as? String == "core.git:stash-drop")
            #expect(try await client.post("/api/dcg/pending/\(id)/approve", token: viewer).status == .forbidden)
            let approved = try await client.post("/api/dcg/pending/\(id)/approve", token: token)
            #expect(approved.status == .ok && approved["decidedBy"] as? String == "operator@example.com")
            let again = try await client.post("/api/dcg/pending/\(id)/deny", token: token)
            #expect(again.status == .conflict && again.errorCode == "APPROVAL_ALREADY_DECIDED")
            #expect(try await server.sessions.waitForState(sessionID, [.done, .failed]).state == .done)
            #expect(try await client.post("/api/dcg/pending/nope/approve", token: token).errorCode == "APPROVAL_NOT_FOUND")
        }
        await server.remove()
    }

    @Test("the guard answers over HTTP without running anything")
    func check() async throws {
        let server = try await ServerHarness()
        try await server.run { client in
            let token = try await client.signIn(.viewer).token
            let denied = try await client.post("/api/dcg/check", token: token, ["command": "rm -rf /"])
            #expect(denied["decision"] as? String == "deny")
            #expect(denied["ruleId"] as? String == "core.filesystem:rm-rf-root-home")
            #expect(try await client.post("/api/dcg/check", token: token, ["command": "ls -la"])["decision"] as? String == "allow")
        }
        await server.remove()
    }

    @Test("bad input gets the status and code that say what is wrong")
    func errors() async throws {
        var settings = SessionHarness.testServerSettings
        settings.maxBodyBytes = 4096
        let server = try await ServerHarness(server: settings)
        try await server.run { client in
            let token = try await client.signIn(.admin).token
            func expect(_ response: APIResponse, _ status: HTTPResponse.Status, _ code: String, field: String? = nil,
                        sourceLocation: SourceLocation = #_sourceLocation) {
                #expect(response.status == status, "\(response.text)", sourceLocation: sourceLocation)
                #expect(response.errorCode == code, "\(response.text)", sourceLocation: sourceLocation)
                if let field { #expect(response.errorField == field, sourceLocation: sourceLocation) }
                #expect(response.headers[.contentType]?.hasPrefix("application/json") == true, sourceLocation: sourceLocation)
            }
            expect(try await client.get("/api/nothing-here", token: token), .notFound, "NOT_FOUND")
            expect(try await client.get("/api/sessions/none", token: token), .notFound, "SESSION_NOT_FOUND")
            expect(try await client.get("/api/agents/none", token: token), .notFound, "AGENT_NOT_FOUND")
            expect(try await client.post("/api/sessions", token: token, ["agentId": "none", "task": "x"]), .notFound, "AGENT_NOT_FOUND")
            expect(try await client.post("/api/sessions", token: token, ["agentId": "a", "task": "x", "priority": 1]), .badRequest, "UNKNOWN_FIELD", field: "priority")
            expect(try await client.post("/api/sessions", token: token, ["task": "x"]), .badRequest, "MISSING_FIELD", field: "agentId")
            expect(try await client.post("/api/sessions", token: token, ["agentId": 7, "task": "x"]), .badRequest, "INVALID_FIELD", field: "agentId")
            expect(try await client.request(.post, "/api/sessions", token: token, raw: "{not json"), .badRequest, "INVALID_JSON")
            expect(try await client.request(.post, "/api/sessions", token: token, raw: "[1]"), .badRequest, "INVALID_JSON")
            expect(try await client.request(.post, "/api/sessions", token: token, raw: "agentId=a", contentType: "application/x-www-form-urlencoded"),
                   .unsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE")
            expect(try await client.post("/api/sessions", token: token, ["agentId": "a", "task": String(repeating: "x", count: 5000)]),
                   .contentTooLarge, "BODY_TOO_LARGE")
            expect(try await client.get("/api/sessions?limit=0", token: token), .badRequest, "INVALID_FIELD", field: "limit")
            expect(try await client.get("/api/sessions?state=sleeping", token: token), .badRequest, "INVALID_FIELD", field: "state")
            expect(try await client.get("/api/sessions?cursor=garbage", token: token), .badRequest, "INVALID_FIELD", field: "cursor")
            expect(try await client.post("/api/agents", token: token, ["name": "x", "driverId": "nope"]), .unprocessableContent, "DRIVER_NOT_LOADED", field: "driverId")
            expect(try await client.post("/api/agents", token: token, ["name": "../x", "driverId": "test.scripted"]), .badRequest, "INVALID_FIELD", field: "name")
            expect(try await client.post("/api/agents", token: token, ["name": "x", "driverId": "test.scripted", "config": [1, 2]]),
                   .badRequest, "INVALID_FIELD", field: "config")
            expect(try await client.post("/api/users", token: token, ["email": "new@example.com", "password": "short", "role": "viewer"]),
                   .badRequest, "INVALID_FIELD", field: "password")
            expect(try await client.post("/api/users", token: token, ["email": "new@example.com", "password": "long-enough", "role": "root"]),
                   .badRequest, "INVALID_FIELD", field: "role")
            expect(try await client.post("/api/users", token: token, ["email": "VIEWER@example.com", "password": "long-enough", "role": "viewer"]),
                   .conflict, "EMAIL_TAKEN")
            for email in ["a\u{85}b@example.com", "a\u{14}@example.com", "a@exa mple.com"] {
                expect(try await client.post("/api/users", token: token, ["email": email, "password": "long-enough", "role": "viewer"]),
                       .badRequest, "INVALID_FIELD", field: "email")
            }
            let wrongMethod = try await client.request(.delete, "/api/sessions", token: token)
            expect(wrongMethod, .methodNotAllowed, "METHOD_NOT_ALLOWED")
            #expect(wrongMethod.headers[.allow] == "GET, POST")
            expect(try await client.request(.put, "/api/sessions/abc/cancel", token: token), .methodNotAllowed, "METHOD_NOT_ALLOWED")
        }
        await server.remove()
    }

    @Test("an agent is changed field by field and deleted")
    func agentLifecycle() async throws {
        let server = try await ServerHarness()
        try await server.run { client in
            let token = try await client.signIn(.operator).token
            let created = try await client.post("/api/agents", token: token, ["name": "one", "driverId": "test.scripted", "config": ["a": 1]])
            let id = try #require(created["id"] as? String)
            let changed = try await client.request(.patch, "/api/agents/\(id)", token: token, json: ["enabled": false])
            #expect(changed.status == .ok)
            #expect(changed["enabled"] as? Bool == false)
            #expect((changed["config"] as? [String: Any])?["a"] as? Int == 1)
            #expect(try await client.get("/api/agents", token: token).items.map { $0["name"] as? String } == ["one"])
            #expect(try await client.request(.delete, "/api/agents/\(id)", token: token).status == .noContent)
            #expect(try await client.get("/api/agents/\(id)", token: token).errorCode == "AGENT_NOT_FOUND")
        }
        await server.remove()
    }

    @Test("accounts: credentials go in sealed and never come out; operators enable, disable and remove")
    func accounts() async throws {
        let server = try await ServerHarness()
        try await server.run { client in
            let operatorToken = try await client.signIn(.operator).token
            let viewer = try await client.signIn(.viewer).token
            let secret = "sk-test-do-not-echo-1234"
            let added = try await client.request(.post, "/api/accounts", token: operatorToken, json: [
                "provider": "anthropic", "label": "team-a", "credentials": ["api_key": secret],
            ])
            #expect(added.status == .created, "\(added.text)")
            let id = try #require(added["id"] as? String)
            #expect(added["status"] as? String == "verified")
            #expect(!added.text.contains(secret))
            let listed = try await client.get("/api/accounts?provider=anthropic", token: viewer)
            #expect(listed.items.map { $0["label"] as? String } == ["team-a"])
            #expect(!listed.text.contains(secret))
            let stored = try #require(try await server.gateway.store.account(id: id))
            #expect(!String(decoding: stored.sealedCredentials, as: UTF8.self).contains(secret), "sealed at rest")
            #expect(try await client.request(.post, "/api/accounts", token: viewer, json: ["provider": "x", "label": "y", "credentials": [String: String]()]).status == .forbidden)
            let again = try await client.request(.post, "/api/accounts", token: operatorToken, json: ["provider": "anthropic", "label": "team-a", "credentials": ["k": "v"]])
            #expect(again.status == .conflict && again.errorCode == "ACCOUNT_EXISTS")
            #expect(try await client.request(.post, "/api/accounts", token: operatorToken, json: ["provider": "Bad Name", "label": "y", "credentials": [String: String]()]).errorField == "provider")
            #expect(try await client.request(.post, "/api/accounts", token: operatorToken, json: ["provider": "p", "label": "y", "credentials": "key"]).errorField == "credentials")
            #expect(try await client.request(.patch, "/api/accounts/\(id)", token: operatorToken, json: ["enabled": false])["status"] as? String == "disabled")
            #expect(try await client.request(.patch, "/api/accounts/\(id)", token: operatorToken, json: ["enabled": true])["status"] as? String == "verified")
            #expect(try await client.request(.delete, "/api/accounts/\(id)", token: operatorToken).status == .noContent)
            #expect(try await client.get("/api/accounts/\(id)", token: viewer).errorCode == "ACCOUNT_NOT_FOUND")
            #expect(try await client.request(.delete, "/api/accounts/\(id)", token: operatorToken).errorCode == "ACCOUNT_NOT_FOUND")
        }
        await server.remove()
    }

    @Test("accounts: an operator checks a key with its provider (a local stand-in); the outcome is recorded, the key never shown")
    func verifyAccount() async throws {
        let provider = try await FakeProvider([
            ["status": 200, "headers": [["content-type", "application/json"]],
             "chunks": [#"{"object":"list","data":[{"id":"gpt-4.1","object":"model","created":1686935002,"owned_by":"openai"}]}"#]],
            ["status": 401, "headers": [["content-type", "application/json"]],
             "chunks": [#"{"error":{"message":"Incorrect API key provided: sk-test-do-not-echo-1234.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#]],
        ])
        defer { provider.stop() }
        let server = try await ServerHarness(accountProviders: ["openai": ProviderEndpoint(format: .openai, baseURL: provider.baseURL + "/v1")])
        try await server.run { client in
            let operatorToken = try await client.signIn(.operator).token
            let viewer = try await client.signIn(.viewer).token
            let secret = "sk-test-do-not-echo-1234"
            let added = try await client.request(.post, "/api/accounts", token: operatorToken, json: [
                "provider": "openai", "label": "team", "credentials": ["api_key": secret],
            ])
            let id = try #require(added["id"] as? String)
            #expect(try await client.request(.post, "/api/accounts/\(id)/verify", token: viewer).status == .forbidden)
            let good = try await client.request(.post, "/api/accounts/\(id)/verify", token: operatorToken)
            #expect(good.status == .ok, "\(good.text)")
            #expect(good["outcome"] as? String == "verified")
            #expect((good["account"] as? [String: Any])?["status"] as? String == "verified")
            let refused = try await client.request(.post, "/api/accounts/\(id)/verify", token: operatorToken)
            #expect(refused["outcome"] as? String == "invalid")
            #expect((refused["account"] as? [String: Any])?["status"] as? String == "invalid")
            #expect(!refused.text.contains(secret), "\(refused.text)")
            #expect(try await client.get("/api/accounts/\(id)", token: viewer)["status"] as? String == "invalid")
            #expect(try provider.headers(0)["authorization"] == "Bearer \(secret)")

            #expect(try await client.request(.post, "/api/accounts/nope/verify", token: operatorToken).errorCode == "ACCOUNT_NOT_FOUND")
            let other = try await client.request(.post, "/api/accounts", token: operatorToken, json: [
                "provider": "mistral", "label": "team", "credentials": ["api_key": "k"],
            ])
            let unknown = try await client.request(.post, "/api/accounts/\(try #require(other["id"] as? String))/verify", token: operatorToken)
            #expect(unknown.status == .unprocessableContent && unknown.errorCode == "PROVIDER_NOT_CONFIGURED", "\(unknown.text)")
        }
        await server.remove()
    }
}
