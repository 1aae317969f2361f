import Crypto
import Foundation
import Host
import ProviderSignals
import HostTestSupport
import Testing

@Suite("credentials at rest")
struct CredentialCipherTests {
    let cipher = CredentialCipher(key: SymmetricKey(size: .bits256))
    let secret = Array(#"{"api_key":"sk-test-123"}"#.utf8)

    @Test("sealed credentials open with the same key, provider and label, and do not contain the plaintext")
    func roundTrip() throws {
        let sealed = try cipher.seal(secret, provider: "anthropic", label: "team-a")
        #expect(try cipher.open(sealed, provider: "anthropic", label: "team-a") == secret)
        #expect(!String(decoding: sealed, as: UTF8.self).contains("sk-test-123"))
    }

    @Test("a wrong key, tampered bytes, or another account's identity do not open")
    func refusals() throws {
        let sealed = try cipher.seal(secret, provider: "anthropic", label: "team-a")
        let other = CredentialCipher(key: SymmetricKey(size: .bits256))
        #expect(throws: CredentialCipher.OpenError.self) { try other.open(sealed, provider: "anthropic", label: "team-a") }
        var tampered = sealed
        tampered[tampered.count / 2] ^= 0x01
        #expect(throws: CredentialCipher.OpenError.self) { try cipher.open(tampered, provider: "anthropic", label: "team-a") }
        #expect(throws: CredentialCipher.OpenError.self) { try cipher.open(sealed, provider: "anthropic", label: "team-b") }
        #expect(throws: CredentialCipher.OpenError.self) { try cipher.open(Array(sealed.prefix(5)), provider: "anthropic", label: "team-a") }
    }
}

@Suite("secret key loading")
struct SecretKeyLoaderTests {
    @Test("FLYWHEEL_SECRET_KEY: 32 bytes of base64; anything else is a clear error")
    func environment() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let good = Data((0..<32).map { UInt8($0) }).base64EncodedString()
        _ = try SecretKeyLoader.load(environment: ["FLYWHEEL_SECRET_KEY": good], keyFile: folder.file("unused.key"))
        #expect(!FileManager.default.fileExists(atPath: folder.file("unused.key").path), "the environment key wins; no file is made")
        let short = #expect(throws: SecretKeyLoader.Failure.self) {
            try SecretKeyLoader.load(environment: ["FLYWHEEL_SECRET_KEY": Data([1, 2, 3]).base64EncodedString()], keyFile: folder.file("k"))
        }
        #expect(short?.description.contains("3 bytes") == true)
        let garbage = #expect(throws: SecretKeyLoader.Failure.self) {
            try SecretKeyLoader.load(environment: ["FLYWHEEL_SECRET_KEY": "not base64!"], keyFile: folder.file("k"))
        }
        #expect(garbage?.description.contains("not valid base64") == true)
        #expect(garbage?.description.contains("not base64!") == false, "the value is never echoed")
    }

    @Test("without the variable a key file is made with mode 0600 and reused")
    func keyFile() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let file = folder.file("data/secret.key")
        let first = try SecretKeyLoader.load(environment: [:], keyFile: file)
        let attributes = try FileManager.default.attributesOfItem(atPath: file.path)
        #expect((attributes[.posixPermissions] as? Int) == 0o600)
        #expect((attributes[.size] as? Int) == 32)
        let second = try SecretKeyLoader.load(environment: [:], keyFile: file)
        #expect(first == second)
    }

    @Test("a key file others can read is refused")
    func openKeyFile() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let file = folder.file("secret.key")
        _ = try SecretKeyLoader.load(environment: [:], keyFile: file)
        chmod(file.path, 0o644)
        let error = #expect(throws: SecretKeyLoader.Failure.self) { try SecretKeyLoader.load(environment: [:], keyFile: file) }
        #expect(error?.description.contains("chmod 600") == true)
    }
}

@Suite("account pool")
struct AccountPoolTests {
    func pool(_ selection: AccountSelection = .roundRobin) throws -> (TestStore, AccountPool) {
        let test = try TestStore()
        return (test, AccountPool(store: test.store, cipher: CredentialCipher(key: SymmetricKey(size: .bits256)), selection: selection))
    }

    @Test("round-robin hands out every usable account in turn, with its credentials opened")
    func roundRobin() async throws {
        let (test, pool) = try pool()
        defer { test.directory.remove() }
        for label in ["a", "b", "c"] { _ = try await pool.add(provider: "anthropic", label: label, credentialsJSON: #"{"key":"\#(label)"}"#) }
        _ = try await pool.add(provider: "openai", label: "x", credentialsJSON: "{}")
        var labels: [String] = []
        for _ in 0..<6 { labels.append(try #require(try await pool.lease(provider: "anthropic")).label) }
        #expect(labels == ["a", "b", "c", "a", "b", "c"])
        let lease = try #require(try await pool.lease(provider: "anthropic"))
        #expect(lease.credentialsJSON == #"{"key":"\#(lease.label)"}"#)
        #expect(!lease.description.contains("key"), "a lease never prints its credentials")
        #expect(try await pool.lease(provider: "nobody") == nil)
    }

    @Test("least-recently-used picks the account idle longest")
    func leastRecentlyUsed() async throws {
        let (test, pool) = try pool(.leastRecentlyUsed)
        defer { test.directory.remove() }
        for label in ["a", "b", "c"] { _ = try await pool.add(provider: "p", label: label, credentialsJSON: "{}") }
        let start = Date()
        #expect(try await pool.lease(provider: "p", now: start)?.label == "a")
        #expect(try await pool.lease(provider: "p", now: start.addingTimeInterval(1))?.label == "b")
        #expect(try await pool.lease(provider: "p", now: start.addingTimeInterval(2))?.label == "c")
        #expect(try await pool.lease(provider: "p", now: start.addingTimeInterval(3))?.label == "a")
    }

    @Test("a cooling account is skipped until its time passes; with none usable the pool says when")
    func cooldown() async throws {
        let (test, pool) = try pool()
        defer { test.directory.remove() }
        let a = try await pool.add(provider: "p", label: "a", credentialsJSON: "{}")
        let b = try await pool.add(provider: "p", label: "b", credentialsJSON: "{}")
        let now = Date()
        try await pool.coolDown(accountID: a.id, until: now.addingTimeInterval(30))
        #expect(try await pool.lease(provider: "p", now: now)?.label == "b")
        #expect(try await pool.lease(provider: "p", now: now)?.label == "b")
        try await pool.coolDown(accountID: b.id, until: now.addingTimeInterval(10))
        #expect(try await pool.lease(provider: "p", now: now) == nil)
        let next = try #require(try await pool.nextAvailableAt(provider: "p", now: now))
        #expect(abs(next.timeIntervalSince(now.addingTimeInterval(10))) < 0.01)
        #expect(try await pool.lease(provider: "p", now: now.addingTimeInterval(11))?.label == "b")
        #expect(try await test.store.account(id: b.id)?.status == .verified)
        #expect(try await pool.lease(provider: "p", now: now.addingTimeInterval(31)) != nil)
    }

    @Test("an account taken out of rotation stays out, whatever lease or cooldown races it from another pool (200 rounds)")
    func outOfRotationWins() async throws {
        let test = try TestStore()
        defer { test.directory.remove() }
        let key = SymmetricKey(size: .bits256)
        // Two pools on one store, as two gateways on one database would be.
        let leasing = AccountPool(store: test.store, cipher: CredentialCipher(key: key))
        let reporting = AccountPool(store: test.store, cipher: CredentialCipher(key: key))
        for round in 0..<200 {
            let account = try await leasing.add(provider: "p\(round)", label: "a", credentialsJSON: "{}")
            async let leased = leasing.lease(provider: "p\(round)")
            async let cooled: Void = reporting.coolDown(accountID: account.id, until: Date().addingTimeInterval(60))
            async let removed: Void = reporting.takeOutOfRotation(accountID: account.id, status: .invalid, reason: "the key was refused")
            _ = try await (leased, cooled, removed)
            let after = try #require(try await test.store.account(id: account.id))
            #expect(after.status == .invalid, "round \(round)")
            #expect(after.statusReason == "the key was refused", "round \(round)")
            #expect(try await leasing.lease(provider: "p\(round)") == nil, "round \(round)")
        }
    }
}

@Suite("rate-limit signals")
struct RateLimitSignalTests {
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test("a driver's rate_limited event: seconds, reset time, or a default minute")
    func events() {
        #expect(RateLimitSignal.cooldownEnd(retryAfterSeconds: 30, resetAt: nil, now: now) == now.addingTimeInterval(30))
        #expect(RateLimitSignal.cooldownEnd(retryAfterSeconds: nil, resetAt: "2027-01-15T08:00:00Z", now: now)
                == ISO8601DateFormatter().date(from: "2027-01-15T08:00:00Z"))
        #expect(RateLimitSignal.cooldownEnd(retryAfterSeconds: nil, resetAt: "garbage", now: now) == now.addingTimeInterval(60))
    }

    @Test("a 429's headers: retry-after(-ms) wins, else the latest reset among the limits used up (Anthropic times, OpenAI durations), else a minute; always 1 s to a day")
    func headers() {
        func wait(_ headers: [(String, String)]) -> Double { ProviderRateLimit.retryAfter(headers, now: now) }
        #expect(wait([("Retry-After", "12")]) == 12)
        #expect(wait([("retry-after-ms", "1500"), ("retry-after", "9")]) == 1.5)
        #expect(wait([("retry-after", "Fri, 15 Jan 2027 08:00:30 GMT")]) == 30)
        #expect(wait([("anthropic-ratelimit-requests-reset", "2027-01-15T08:00:05Z"), ("anthropic-ratelimit-tokens-reset", "2027-01-15T08:00:30Z")]) == 30)
        #expect(wait([("anthropic-ratelimit-requests-reset", "2027-01-15T08:00:05Z"), ("anthropic-ratelimit-requests-remaining", "0"),
                      ("anthropic-ratelimit-tokens-reset", "2027-01-15T08:00:30Z"), ("anthropic-ratelimit-tokens-remaining", "900")]) == 5,
                "the limit used up decides")
        #expect(wait([("x-ratelimit-reset-requests", "6m0s")]) == 360)
        #expect(wait([("x-ratelimit-reset-tokens", "1h2m3.5s")]) == 3723.5)
        #expect(wait([("x-ratelimit-reset-tokens", "20ms")]) == 1, "at least a second")
        #expect(wait([("retry-after", "1e10")]) == 86_400, "at most a day")
        #expect(wait([("content-type", "json"), ("x-ratelimit-reset-tokens", "soon")]) == 60)
    }
}
