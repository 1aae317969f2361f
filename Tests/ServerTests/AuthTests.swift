import Foundation
@_spi(Testing) import Host
import HostTestSupport
import Hummingbird
@testable import Server
import Synchronization
import Testing

@Suite("sign-in, tokens and roles over HTTP")
struct AuthTests {
    @Test("login gives a short-lived access token and a refresh token; the token opens /api")
    func login() async throws {
        let server = try await ServerHarness()
        try await server.run { client in
            let response = try await client.post("/auth/login", ["email": "operator@example.com", "password": "password-operator"])
            #expect(response.status == .ok)
            #expect(response["expiresIn"] as? Int == 900)
            #expect(response.headers[.cacheControl] == "no-store")
            let token = try #require(response["token"] as? String)
            #expect((response["refreshToken"] as? String)?.hasPrefix("fwr_") == true)
            let me = try await client.get("/api/me", token: token)
            #expect(me.status == .ok)
            #expect(me["email"] as? String == "operator@example.com")
            #expect(me["role"] as? String == "operator")
            #expect(me.json["passwordHash"] == nil && !me.text.contains("$2b$"))
        }
        await server.remove()
    }

    @Test("a wrong password and an unknown email get the same 401")
    func wrongCredentials() async throws {
        let server = try await ServerHarness()
        try await server.run { client in
            let wrong = try await client.post("/auth/login", ["email": "admin@example.com", "password": "not-the-password"])
            let unknown = try await client.post("/auth/login", ["email": "nobody@example.com", "password": "password-admin"])
            #expect(wrong.status == .unauthorized && unknown.status == .unauthorized)
            #expect(wrong.errorCode == "INVALID_CREDENTIALS" && unknown.errorCode == "INVALID_CREDENTIALS")
            #expect((wrong.json["error"] as? [String: String])?["message"] == (unknown.json["error"] as? [String: String])?["message"])
        }
        await server.remove()
    }

    @Test("refresh rotates: the old refresh token stops working, and presenting it again revokes the whole sign-in")
    func rotation() async throws {
        let server = try await ServerHarness()
        try await server.run { client in
            let first = try await client.signIn(.viewer)
            let rotated = try await client.post("/auth/refresh", ["refreshToken": first.refresh])
            #expect(rotated.status == .ok)
            let second = try #require(rotated["refreshToken"] as? String)
            #expect(second != first.refresh)
            #expect(try await client.get("/api/me", token: try #require(rotated["token"] as? String)).status == .ok)
            #expect(try await client.post("/auth/refresh", ["refreshToken": second]).status == .ok)
            // The first token again, its successor used since: reuse. The sign-in's tokens are all
            // revoked, the latest one too.
            let reuse = try await client.post("/auth/refresh", ["refreshToken": first.refresh])
            #expect(reuse.status == .unauthorized)
            #expect(reuse.errorCode == "REFRESH_TOKEN_REUSED")
            let successor = try await client.post("/auth/refresh", ["refreshToken": second])
            #expect(successor.errorCode == "INVALID_REFRESH_TOKEN")
            // Another sign-in of the same user is untouched.
            let other = try await client.signIn(.viewer)
            #expect(try await client.post("/auth/refresh", ["refreshToken": other.refresh]).status == .ok)
            #expect(try await client.post("/auth/refresh", ["refreshToken": "fwr_made-up"]).errorCode == "INVALID_REFRESH_TOKEN")
        }
        await server.remove()
    }

    /// Every token of the sign-in `token` belongs to.
    static func family(of token: String, _ server: ServerHarness) async throws -> [RefreshTokenRecord] {
        let record = try #require(try await server.gateway.store.refreshToken(hash: PeopleService.digest(token)))
        return try await server.gateway.store.refreshTokens(familyID: record.familyID)
    }

    /// Exchanges one refresh token `times` times at once; the new tokens of the exchanges that succeeded.
    static func rotateAtOnce(_ token: String, times: Int, _ people: PeopleService) async -> [String] {
        await withTaskGroup(of: String?.self) { group in
            for _ in 0..<times {
                group.addTask { try? await people.rotate(refreshToken: token).next.token }
            }
            return await group.reduce(into: [String]()) { if let token = $1 { $0.append(token) } }
        }
    }

    @Test("a used token presented again soon, its successor unused, is exchanged again (the answer was lost); the lost successor is then reuse")
    func lostAnswer() async throws {
        let server = try await ServerHarness()
        try await server.run { client in
            let first = try await client.signIn(.viewer)
            let lost = try #require(try await client.post("/auth/refresh", ["refreshToken": first.refresh])["refreshToken"] as? String)
            // The client never saw `lost` and sends what it holds, twice (two reloads cut short).
            let again = try await client.post("/auth/refresh", ["refreshToken": first.refresh])
            #expect(again.status == .ok, "\(again.text)")
            let third = try await client.post("/auth/refresh", ["refreshToken": first.refresh])
            #expect(third.status == .ok, "\(third.text)")
            let live = try #require(third["refreshToken"] as? String)
            #expect(try await client.get("/api/me", token: third["token"] as? String).status == .ok)
            // Only the newest is live; the lost answer, should it turn up, ends the sign-in.
            let replaced = try #require(again["refreshToken"] as? String)
            #expect(try await client.post("/auth/refresh", ["refreshToken": lost]).errorCode == "REFRESH_TOKEN_REUSED")
            #expect(try await client.post("/auth/refresh", ["refreshToken": live]).errorCode == "INVALID_REFRESH_TOKEN")
            #expect(try await client.post("/auth/refresh", ["refreshToken": replaced]).errorCode == "INVALID_REFRESH_TOKEN")
            #expect(try await client.get("/api/me", token: third["token"] as? String).errorCode == "TOKEN_REVOKED")
        }
        await server.remove()
    }

    @Test("the grace is only for a lost answer: not once the successor was used, not after the grace, not when turned off")
    func graceLimits() async throws {
        let server = try await ServerHarness()
        let people = server.gateway.people
        let user = try #require(try await server.gateway.store.user(email: "viewer@example.com"))
        let start = Date()
        func reused(_ token: String, at now: Date, by service: PeopleService) async -> Bool {
            do {
                _ = try await service.rotate(refreshToken: token, now: now)
                return false
            } catch let error as RefreshTokenRejected {
                return error.reason == .reused
            } catch {
                return false
            }
        }

        // The successor used: the first token again is reuse, however soon.
        let a = try await people.issueRefreshToken(userID: user.id)
        let a1 = try await people.rotate(refreshToken: a.token, now: start)
        _ = try await people.rotate(refreshToken: a1.next.token, now: start.addingTimeInterval(1))
        #expect(await reused(a.token, at: start.addingTimeInterval(2), by: people))
        #expect(try await Self.family(of: a.token, server).allSatisfy { $0.revokedAt != nil })

        // Past the grace: reuse, though the successor is unused.
        let b = try await people.issueRefreshToken(userID: user.id)
        _ = try await people.rotate(refreshToken: b.token, now: start)
        #expect(await reused(b.token, at: start.addingTimeInterval(people.refreshReuseGrace + 1), by: people))
        #expect(try await Self.family(of: b.token, server).allSatisfy { $0.revokedAt != nil })

        // Within it: exchanged again; the family keeps one usable token, the newest.
        let c = try await people.issueRefreshToken(userID: user.id)
        let c1 = try await people.rotate(refreshToken: c.token, now: start)
        let c2 = try await people.rotate(refreshToken: c.token, now: start.addingTimeInterval(people.refreshReuseGrace - 1))
        let usable = try await Self.family(of: c.token, server).filter { $0.usedAt == nil && $0.revokedAt == nil }
        #expect(usable.map(\.id) == [c2.next.record.id])
        // The successor it replaced, presented at once, gets no grace of its own: reuse.
        #expect(await reused(c1.next.token, at: start.addingTimeInterval(people.refreshReuseGrace - 1), by: people))
        #expect(try await Self.family(of: c.token, server).allSatisfy { $0.revokedAt != nil })

        await server.remove()

        // Turned off: at once is reuse.
        var settings = SessionHarness.testServerSettings
        settings.refreshReuseGraceSeconds = 0
        let strictServer = try await ServerHarness(server: settings)
        let strict = strictServer.gateway.people
        let strictUser = try #require(try await strictServer.gateway.store.user(email: "viewer@example.com"))
        let d = try await strict.issueRefreshToken(userID: strictUser.id)
        _ = try await strict.rotate(refreshToken: d.token, now: start)
        #expect(await reused(d.token, at: start, by: strict))
        await strictServer.remove()
    }

    @Test("refresh tokens that expired, or whose sign-in ended, more than two days ago are deleted; the others stay")
    func pruning() async throws {
        let server = try await ServerHarness()
        let store = server.gateway.store, people = server.gateway.people
        let user = try #require(try await store.user(email: "viewer@example.com"))
        let now = Date(), day: TimeInterval = 86_400
        func token(_ name: String, expires: TimeInterval, ended: TimeInterval? = nil) async throws -> String {
            let record = try await store.createRefreshToken(RefreshTokenRecord(userID: user.id, tokenHash: "hash-\(name)", expiresAt: now + expires))
            if let ended { _ = try await store.revokeRefreshTokens(familyID: record.familyID, at: now + ended) }
            return record.tokenHash
        }
        let kept = [try await token("live", expires: 10 * day), try await token("expired-yesterday", expires: -day),
                    try await token("ended-yesterday", expires: 10 * day, ended: -day)]
        let gone = [try await token("expired-long-ago", expires: -3 * day), try await token("ended-long-ago", expires: 10 * day, ended: -3 * day),
                    try await token("expired-and-ended", expires: -5 * day, ended: -4 * day)]
        // A live sign-in keeps a used token that expired long ago: were it presented, the sign-in ends.
        let old = try await store.createRefreshToken(RefreshTokenRecord(userID: user.id, tokenHash: "hash-old-used", expiresAt: now - 5 * day))
        let next = RefreshTokenRecord(userID: user.id, tokenHash: "hash-current", familyID: old.familyID, expiresAt: now + 20 * day)
        #expect(try await store.rotateRefreshToken(oldID: old.id, next: next, at: now - 6 * day))
        let keptFamily = [old.tokenHash, next.tokenHash]
        // Batches of one sign-in: the pruning goes on until nothing is left to delete.
        #expect(try await people.pruneRefreshTokens(now: now, batch: 1) == gone.count)
        for hash in keptFamily { #expect(try await store.refreshToken(hash: hash) != nil, "\(hash)") }
        for hash in kept { #expect(try await store.refreshToken(hash: hash) != nil, "\(hash)") }
        for hash in gone { #expect(try await store.refreshToken(hash: hash) == nil, "\(hash)") }
        #expect(try await people.pruneRefreshTokens(now: now) == 0)
        await server.remove()
    }

    @Test("logout revokes the sign-in's refresh tokens")
    func logout() async throws {
        let server = try await ServerHarness()
        try await server.run { client in
            let session = try await client.signIn(.operator)
            let out = try await client.post("/auth/logout", ["refreshToken": session.refresh])
            #expect(out.status == .noContent)
            let after = try await client.post("/auth/refresh", ["refreshToken": session.refresh])
            #expect(after.status == .unauthorized && after.errorCode == "INVALID_REFRESH_TOKEN")
        }
        await server.remove()
    }

    @Test("an ended sign-in ends its access tokens at once: logout, a reused refresh token, a password change, and in a new process")
    func endedSignInsEndAccessTokens() async throws {
        let server = try await ServerHarness()
        let revokedToken = Mutex("")
        try await server.run { client in
            let session = try await client.signIn(.operator)
            let other = try await client.signIn(.operator)
            #expect(try await client.get("/api/me", token: session.token).status == .ok)
            #expect(try await client.post("/auth/logout", ["refreshToken": session.refresh]).status == .noContent)
            let after = try await client.get("/api/me", token: session.token)
            #expect(after.status == .unauthorized && after.errorCode == "TOKEN_REVOKED")
            #expect(try await client.get("/api/me", token: other.token).status == .ok, "another sign-in of the user is untouched")
            revokedToken.withLock { $0 = session.token }

            // A refresh token presented twice ends the sign-in's access tokens, the rotated one's too.
            let rotated = try await client.post("/auth/refresh", ["refreshToken": other.refresh])
            let rotatedToken = try #require(rotated["token"] as? String)
            #expect(try await client.get("/api/me", token: rotatedToken).status == .ok)
            #expect(try await client.post("/auth/refresh", ["refreshToken": try #require(rotated["refreshToken"] as? String)]).status == .ok)
            #expect(try await client.post("/auth/refresh", ["refreshToken": other.refresh]).errorCode == "REFRESH_TOKEN_REUSED")
            #expect(try await client.get("/api/me", token: rotatedToken).errorCode == "TOKEN_REVOKED")
            #expect(try await client.get("/api/me", token: other.token).errorCode == "TOKEN_REVOKED")

            // A password change signs the user out everywhere, access tokens included.
            let admin = try await client.signIn(.admin).token
            let viewer = try await client.signIn(.viewer)
            let viewerID = try #require(try await client.get("/api/me", token: viewer.token)["id"] as? String)
            #expect(try await client.request(.patch, "/api/users/\(viewerID)", token: admin, json: ["password": "another-password-1"]).status == .ok)
            #expect(try await client.get("/api/me", token: viewer.token).errorCode == "TOKEN_REVOKED")
        }
        // A new process (nothing in memory) asks the store: the token is still refused.
        let tokens = await AccessTokens(key: server.key, lifetime: 900)
        let error = await #expect(throws: APIError.self) {
            try await tokens.verify(revokedToken.withLock { $0 }) { [people = server.gateway.people] in try await people.signInHasEnded($0) }
        }
        #expect(error?.code == "TOKEN_REVOKED")
        await server.remove()
    }

    @Test("refreshes of one token at once: with the grace all succeed and one token stays usable; without it one wins and the other is reuse (200 rounds)",
          arguments: zip([10.0, 0], [3, 2]))
    func refreshRace(grace: Double, atOnce: Int) async throws {
        var settings = SessionHarness.testServerSettings
        settings.refreshReuseGraceSeconds = grace
        let server = try await ServerHarness(server: settings)
        let people = server.gateway.people
        let user = try await people.user(id: try #require(try await server.gateway.store.user(email: "viewer@example.com")).id)
        for _ in 0..<200 {
            let issued = try await people.issueRefreshToken(userID: user.id)
            let successors = await Self.rotateAtOnce(issued.token, times: atOnce, people)
            let usable = try await Self.family(of: issued.token, server).filter { $0.usedAt == nil && $0.revokedAt == nil }
            if grace > 0 {
                #expect(successors.count == atOnce)
                // Exactly one of them is usable; each of the others was replaced by a later one.
                #expect(usable.count == 1)
                #expect(successors.filter { PeopleService.digest($0) == usable.first?.tokenHash }.count == 1)
            } else {
                #expect(successors.count == 1)
                // The loser made it reuse: the family is revoked, the winner's successor included.
                #expect(usable.isEmpty)
            }
        }
        await server.remove()
    }

    @Test("after a lost answer, the old token presented three times at once: each is exchanged, one token stays usable (100 rounds); after sign-out it is refused")
    func graceExchangesAtOnce() async throws {
        let server = try await ServerHarness()
        let people = server.gateway.people
        let user = try #require(try await server.gateway.store.user(email: "viewer@example.com"))
        for _ in 0..<100 {
            let issued = try await people.issueRefreshToken(userID: user.id)
            _ = try await people.rotate(refreshToken: issued.token)  // the answer lost
            #expect(await Self.rotateAtOnce(issued.token, times: 3, people).count == 3)
            let tokens = try await Self.family(of: issued.token, server)
            #expect(tokens.allSatisfy { $0.revokedAt == nil })
            #expect(tokens.filter { $0.usedAt == nil }.count == 1)
        }
        let signedOut = try await people.issueRefreshToken(userID: user.id)
        _ = try await people.rotate(refreshToken: signedOut.token)
        try await people.signOut(refreshToken: signedOut.token)
        let error = await #expect(throws: RefreshTokenRejected.self) { try await people.rotate(refreshToken: signedOut.token) }
        #expect(error?.reason == .revoked)
        await server.remove()
    }

    @Test("tokens that are missing, malformed, forged or expired get 401 with a code saying which")
    func badTokens() async throws {
        let server = try await ServerHarness()
        let expired = try await server.tokens.issue(userID: try #require(try await server.gateway.store.user(email: "admin@example.com")).id,
                                                   now: Date().addingTimeInterval(-3600))
        let forger = await AccessTokens(key: try SigningKey.load(dataDirectory: URL(fileURLWithPath: "/nonexistent"),
                                                                 environment: [SigningKey.environmentVariable: String(repeating: "k", count: 40)]),
                                        lifetime: 900)
        let forged = try await forger.issue(userID: "anyone")
        try await server.run { client in
            let none = try await client.get("/api/sessions")
            #expect(none.status == .unauthorized && none.errorCode == "UNAUTHENTICATED")
            #expect(none.headers[.wwwAuthenticate]?.hasPrefix("Bearer") == true)
            let basic = try await client.request(.get, "/api/sessions", headers: [(.authorization, "Basic YTpi")])
            #expect(basic.errorCode == "UNAUTHENTICATED")
            #expect(try await client.get("/api/sessions", token: "not.a.jwt").errorCode == "INVALID_TOKEN")
            #expect(try await client.get("/api/sessions", token: forged).errorCode == "INVALID_TOKEN")
            #expect(try await client.get("/api/sessions", token: expired).errorCode == "TOKEN_EXPIRED")
        }
        await server.remove()
    }

    @Test("a token verified once is answered from memory until it expires, never after; the memory is bounded")
    func verifiedTokenMemory() async throws {
        let key = try SigningKey.load(dataDirectory: URL(fileURLWithPath: "/nonexistent"),
                                      environment: [SigningKey.environmentVariable: String(repeating: "s", count: 40)])
        let tokens = await AccessTokens(key: key, lifetime: 1)
        let token = try await tokens.issue(userID: "user-1")
        #expect(try await tokens.verify(token) == "user-1")
        #expect(try await tokens.verify(token) == "user-1")
        // Past its expiry (JWT times are whole seconds): refused, though it was remembered.
        try await Task.sleep(for: .milliseconds(2100))
        let error = await #expect(throws: APIError.self) { try await tokens.verify(token) }
        #expect(error?.code == "TOKEN_EXPIRED")

        let memory = VerifiedTokens()
        let now = Date()
        for index in 0..<(VerifiedTokens.capacity + 5) {
            memory.remember("token-\(index)", userID: "u", signIn: nil, expires: now.addingTimeInterval(60), now: now)
        }
        #expect(memory.entry(for: "token-\(VerifiedTokens.capacity + 4)", now: now)?.userID == "u")
        #expect(memory.entry(for: "token-0", now: now) == nil, "full of live tokens: it started over")
        memory.remember("short", userID: "v", signIn: nil, expires: now.addingTimeInterval(1), now: now)
        #expect(memory.entry(for: "short", now: now.addingTimeInterval(2)) == nil)
        // A store answer taken before a recheck of its user is not remembered; one taken after is.
        memory.forget(userID: "w", at: now)
        memory.remember("raced", userID: "w", signIn: "s", expires: now.addingTimeInterval(60), now: now, checkedAt: now.addingTimeInterval(-0.001))
        #expect(memory.entry(for: "raced", now: now) == nil)
        memory.remember("later", userID: "w", signIn: "s", expires: now.addingTimeInterval(60), now: now, checkedAt: now.addingTimeInterval(0.001))
        #expect(memory.entry(for: "later", now: now)?.userID == "w")
    }

    @Test("each role reaches exactly its route groups")
    func roles() async throws {
        let server = try await ServerHarness()
        try await server.run { client in
            // (method, path, body, lowest role allowed)
            let routes: [(HTTPRequest.Method, String, [String: any Sendable]?, UserRecord.Role)] = [
                (.get, "/api/me", nil, .viewer),
                (.get, "/api/plugins", nil, .viewer),
                (.get, "/api/agents", nil, .viewer),
                (.post, "/api/agents", ["name": "", "driverId": "x"], .operator),
                (.get, "/api/sessions", nil, .viewer),
                (.post, "/api/sessions", ["agentId": "missing", "task": "t"], .operator),
                (.post, "/api/sessions/missing/cancel", nil, .operator),
                (.post, "/api/dcg/check", ["command": "ls"], .viewer),
                (.get, "/api/dcg/pending", nil, .viewer),
                (.post, "/api/dcg/pending/missing/approve", nil, .operator),
                (.get, "/api/dcg/decisions", nil, .viewer),
                (.get, "/api/dcg/config", nil, .admin),
                (.put, "/api/dcg/config", ["toml": "enable = [\"no.such.pack\"]"], .admin),
                (.post, "/api/plugins/reload", nil, .admin),
                (.get, "/api/users", nil, .admin),
                (.post, "/api/users", ["email": "x@example.com", "password": "long-enough", "role": "viewer"], .admin),
            ]
            for role in ServerHarness.roles {
                let token = try await client.signIn(role).token
                for (method, path, body, lowest) in routes {
                    let response = try await client.request(method, path, token: token, json: body ?? (method == .post ? [:] : nil))
                    let allowed = RoleRank.rank(role) >= RoleRank.rank(lowest)
                    if allowed {
                        #expect(response.status != .forbidden, "\(role) \(method) \(path): \(response.text)")
                    } else {
                        #expect(response.status == .forbidden && response.errorCode == "FORBIDDEN", "\(role) \(method) \(path): \(response.status)")
                    }
                }
            }
        }
        await server.remove()
    }

    @Test("the signing key file is made 0600, and refused when others can read it")
    func signingKeyFile() throws {
        let directory = try TemporaryDirectory("signing-key")
        defer { directory.remove() }
        let data = directory.file("data")
        let first = try SigningKey.load(dataDirectory: data, environment: [:])
        let file = data.appendingPathComponent(SigningKey.fileName)
        let mode = try FileManager.default.attributesOfItem(atPath: file.path)[.posixPermissions] as? NSNumber
        #expect(mode?.intValue == 0o600)
        // The same key on the next start.
        let again = try SigningKey.load(dataDirectory: data, environment: [:])
        #expect(first.fingerprint == again.fingerprint)
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: file.path)
        #expect(throws: SigningKey.Failure.self) { try SigningKey.load(dataDirectory: data, environment: [:]) }
        #expect(throws: SigningKey.Failure.self) { try SigningKey.load(dataDirectory: data, environment: [SigningKey.environmentVariable: "short"]) }
    }
}

/// Roles in order, as the tests expect them ranked.
enum RoleRank {
    static func rank(_ role: UserRecord.Role) -> Int {
        switch role {
        case .viewer: 0
        case .operator: 1
        case .admin: 2
        }
    }
}

@Suite("API keys over HTTP")
struct APIKeyTests {
    @Test("a key is shown once, works like a token with its user's role, and stops working when revoked")
    func lifecycle() async throws {
        let server = try await ServerHarness()
        try await server.run { client in
            let token = try await client.signIn(.viewer).token
            let created = try await client.post("/api/api-keys", token: token, ["name": "ci"])
            #expect(created.status == .created)
            let key = try #require(created["key"] as? String)
            let id = try #require(created["id"] as? String)
            #expect(key.hasPrefix("fwk_"))
            #expect(key.hasPrefix(try #require(created["prefix"] as? String)))
            let listed = try await client.get("/api/api-keys", token: key)
            #expect(listed.items.map { $0["id"] as? String } == [id])
            #expect(listed.items.first?["key"] == nil, "a key is never shown again")
            #expect(!listed.text.contains(key))
            #expect(try await client.get("/api/me", token: key)["email"] as? String == "viewer@example.com")
            #expect(try await client.post("/api/sessions", token: key, ["agentId": "x", "task": "t"]).status == .forbidden)
            // Someone else's key cannot be revoked by a non-admin; the admin can.
            let operatorToken = try await client.signIn(.operator).token
            #expect(try await client.request(.delete, "/api/api-keys/\(id)", token: operatorToken).errorCode == "API_KEY_NOT_FOUND")
            #expect(try await client.request(.delete, "/api/api-keys/\(id)", token: token).status == .noContent)
            let revoked = try await client.get("/api/me", token: key)
            #expect(revoked.status == .unauthorized && revoked.errorCode == "INVALID_API_KEY")
            #expect(try await client.get("/api/me", token: "fwk_made-up").errorCode == "INVALID_API_KEY")
            #expect(try await client.post("/api/api-keys", token: token, ["name": ""]).errorField == "name")
            #expect(try await client.post("/api/api-keys", token: token, ["name": "x", "expiresInDays": -1]).errorField == "expiresInDays")
            // Found by schemathesis: a lifetime past what a timestamp holds once crashed the server.
            #expect(try await client.post("/api/api-keys", token: token, ["name": "x", "expiresInDays": 1e300]).errorField == "expiresInDays")
            #expect(try await client.get("/health").status == .ok)
        }
        let stored = try await server.gateway.store.apiKeys(userID: try #require(try await server.gateway.store.user(email: "viewer@example.com")).id)
        #expect(stored.first?.lastUsedAt != nil)
        #expect(stored.first.map { $0.keyHash.count == 64 && !$0.keyHash.hasPrefix("fwk_") } == true)
        await server.remove()
    }
}

@Suite("users over HTTP and on the command line")
struct UserTests {
    @Test("an admin changes a role and a password (which signs the user out everywhere) and removes a user; never the last admin")
    func changeAndRemove() async throws {
        let server = try await ServerHarness()
        try await server.run { client in
            let admin = try await client.signIn(.admin).token
            let viewer = try await client.signIn(.viewer)
            let viewerID = try #require(try await client.get("/api/me", token: viewer.token)["id"] as? String)
            let promoted = try await client.request(.patch, "/api/users/\(viewerID)", token: admin, json: ["role": "operator"])
            #expect(promoted.status == .ok && promoted["role"] as? String == "operator")
            // The role takes effect on the next request, with the same token.
            #expect(try await client.post("/api/sessions", token: viewer.token, ["agentId": "x", "task": "t"]).errorCode == "AGENT_NOT_FOUND")
            let changed = try await client.request(.patch, "/api/users/\(viewerID)", token: admin, json: ["password": "a-new-password"])
            #expect(changed.status == .ok)
            #expect(try await client.post("/auth/refresh", ["refreshToken": viewer.refresh]).status == .unauthorized, "signed out everywhere")
            #expect(try await client.post("/auth/login", ["email": "viewer@example.com", "password": "a-new-password"]).status == .ok)
            #expect(try await client.request(.patch, "/api/users/\(viewerID)", token: admin, json: ["password": "short"]).errorField == "password")
            // The last admin can neither leave nor be demoted.
            let adminID = try #require(try await client.get("/api/me", token: admin)["id"] as? String)
            #expect(try await client.request(.patch, "/api/users/\(adminID)", token: admin, json: ["role": "viewer"]).errorCode == "LAST_ADMIN")
            #expect(try await client.request(.delete, "/api/users/\(adminID)", token: admin).errorCode == "LAST_ADMIN")
            #expect(try await client.request(.delete, "/api/users/\(viewerID)", token: admin).status == .noContent)
            #expect(try await client.get("/api/me", token: viewer.token).status == .unauthorized, "a removed user's token stops working")
            #expect(try await client.request(.delete, "/api/users/\(viewerID)", token: admin).errorCode == "USER_NOT_FOUND")
            // Addresses are read by code point, as the schema's pattern reads them: an "@" followed by
            // an emoji modifier or a combining mark is still the "@" (it was one character with it).
            for email in ["a@\u{1F3FB}", "b@\u{0301}example.com"] {
                let created = try await client.post("/api/users", token: admin, ["email": email, "password": "long-enough", "role": "viewer"])
                #expect(created.status == .created, "\(email.unicodeScalars.map { String($0.value, radix: 16) }): \(created.text)")
            }
            for email in ["no-at.example.com", "two@@example.com", "@example.com", "me@", "sp ace@example.com"] {
                let refused = try await client.post("/api/users", token: admin, ["email": email, "password": "long-enough", "role": "viewer"])
                #expect(refused.errorField == "email", "\(email)")
            }
        }
        await server.remove()
    }

    @Test("two admins demoting each other at once: one change wins, an admin is always left (100 rounds)")
    func lastAdminRace() async throws {
        let server = try await ServerHarness()
        let people = server.gateway.people
        for round in 0..<100 {
            let first = try await people.createUser(email: "a\(round)@example.com", password: "password-a", role: .admin)
            let second = try await people.createUser(email: "b\(round)@example.com", password: "password-b", role: .admin)
            // Leave only these two admins.
            for user in try await people.users() where user.role == .admin && ![first.id, second.id].contains(user.id) {
                _ = try await people.changeUser(id: user.id, role: .viewer)
            }
            async let one = try? people.changeUser(id: first.id, role: .viewer)
            async let two = try? people.changeUser(id: second.id, role: .viewer)
            let outcomes = await [one, two]
            #expect(outcomes.compactMap { $0 }.count == 1)
            #expect(try await people.users().contains { $0.role == .admin })
        }
        await server.remove()
    }

    @Test("users read recently never outlive a change: reads racing a role change never bring the old role back (200 rounds)")
    func recentUsersStayFresh() async throws {
        let server = try await ServerHarness()
        let people = server.gateway.people
        let user = try await people.createUser(email: "racer@example.com", password: "password-r", role: .viewer)
        for round in 0..<200 {
            let target: UserRecord.Role = round % 2 == 0 ? .operator : .viewer
            async let readers: Void = withTaskGroup(of: Void.self) { group in
                for _ in 0..<4 { group.addTask { _ = try? await people.user(id: user.id) } }
            }
            _ = try await people.changeUser(id: user.id, role: target)
            await readers
            #expect(try await people.user(id: user.id).role == target, "round \(round)")
        }
        try await people.deleteUser(id: user.id)
        await #expect(throws: UserNotFound.self) { try await people.user(id: user.id) }
        await server.remove()
    }

    @Test("flywheel users create and list work without a server")
    func commandLine() throws {
        let folder = try TemporaryDirectory("users-cli")
        defer { folder.remove() }
        try SessionHarness.writePlugins(into: folder)
        try folder.write("flywheel.toml", "[server]\npassword_cost = 4\n")
        func flywheel(_ arguments: [String], input: String? = nil) throws -> ProcessOutput {
            try ProcessRunner.run(TestPaths.flywheel, arguments + ["--settings", folder.file("flywheel.toml").path, "--data-dir", folder.file("data").path,
                                                                   "--plugins-dir", folder.file("plugins.d").path],
                                  input: input, environment: ["FLYWHEEL_SECRET_KEY": SessionHarness.secretKey, "PATH": "/usr/bin:/bin"])
        }
        let generated = try flywheel(["users", "create", "--email", "ops@example.com", "--role", "operator"])
        #expect(generated.status == 0, "\(generated.stderr)")
        #expect(generated.stdout.contains(" ops@example.com operator password "))
        let given = try flywheel(["users", "create", "--email", "v@example.com", "--role", "viewer", "--password-stdin"], input: "typed-password\n")
        #expect(given.status == 0, "\(given.stderr)")
        #expect(!given.stdout.contains("password"))
        let short = try flywheel(["users", "create", "--email", "w@example.com", "--role", "viewer", "--password-stdin"], input: "short\n")
        #expect(short.status != 0 && short.stderr.contains("the password on standard input must be 8-1024 characters"))
        let taken = try flywheel(["users", "create", "--email", "OPS@example.com", "--role", "viewer"])
        #expect(taken.status != 0 && taken.stderr.contains("already exists"))
        let listed = try flywheel(["users", "list"])
        #expect(listed.stdout.contains("ops@example.com  operator") && listed.stdout.contains("v@example.com  viewer"))
        #expect(!listed.stdout.contains("$2b$"))
    }
}
