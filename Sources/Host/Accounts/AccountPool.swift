import Crypto
import Foundation

/// How the pool chooses among usable accounts.
public enum AccountSelection: String, Sendable {
    case roundRobin = "round_robin"
    case leastRecentlyUsed = "least_recently_used"
}

/// An account handed to one driver run, with its credentials opened. Never log it.
public struct AccountLease: Sendable, CustomStringConvertible {
    public var accountID: String
    public var provider: String
    public var label: String
    /// The decrypted credentials (a JSON object as the operator stored it).
    public var credentialsJSON: String

    public var description: String { "AccountLease(\(provider)/\(label), credentials redacted)" }
}

/// The BYOA pool: picks a usable account per run, cools accounts down after rate limits, and says
/// when the next one frees up.
public actor AccountPool {
    private let store: any GatewayStore
    private let loadCipher: @Sendable () throws -> CredentialCipher
    private var loadedCipher: CredentialCipher?
    private let selection: AccountSelection
    /// Round-robin position per provider: the id of the account last handed out.
    private var lastLeased: [String: String] = [:]

    public init(store: any GatewayStore, cipher: CredentialCipher, selection: AccountSelection = .roundRobin) {
        self.init(store: store, loadCipher: { cipher }, selection: selection)
    }

    /// A pool whose key is loaded only when credentials are first sealed or opened (for a gateway
    /// that only reads, which should not need the secret key at all).
    public init(store: any GatewayStore, loadCipher: @escaping @Sendable () throws -> CredentialCipher, selection: AccountSelection = .roundRobin) {
        self.store = store
        self.loadCipher = loadCipher
        self.selection = selection
    }

    /// Adds an account with its credentials sealed.
    public func add(provider: String, label: String, credentialsJSON: String) async throws -> AccountRecord {
        let sealed = try cipher().seal(Array(credentialsJSON.utf8), provider: provider, label: label)
        return try await store.createAccount(AccountRecord(provider: provider, label: label, sealedCredentials: sealed))
    }

    /// Leases a usable account of `provider`, or returns nil when none is usable now. An account
    /// taken out of rotation while it was being chosen is not leased: the choice is made again.
    public func lease(provider: String, now: Date = Date()) async throws -> AccountLease? {
        for _ in 0..<8 {
            switch try await leaseOnce(provider: provider, now: now) {
            case .leased(let lease): return lease
            case .noneUsable: return nil
            case .lostRace: continue
            }
        }
        return nil
    }

    private enum LeaseAttempt { case leased(AccountLease), noneUsable, lostRace }

    private func leaseOnce(provider: String, now: Date) async throws -> LeaseAttempt {
        let all = try await store.accounts(provider: provider)
        let usable = all.filter { Self.isUsable($0, now: now) }
        guard !usable.isEmpty else { return .noneUsable }
        let chosen: AccountRecord
        switch selection {
        case .roundRobin:
            // The next usable account after the one leased last, in the order accounts were added.
            let start = lastLeased[provider].flatMap { last in all.firstIndex { $0.id == last } }.map { $0 + 1 } ?? 0
            let rotated = all[start...] + all[..<start]
            chosen = rotated.first { Self.isUsable($0, now: now) }!
        case .leastRecentlyUsed:
            // Ties (never used) go to the account added first, the store's order.
            chosen = usable.enumerated().min { ($0.element.lastUsedAt ?? .distantPast, $0.offset) < ($1.element.lastUsedAt ?? .distantPast, $1.offset) }!.element
        }
        lastLeased[provider] = chosen.id
        guard try await store.updateAccount(id: chosen.id, status: .verified, statusReason: nil, cooldownUntil: nil, lastUsedAt: now,
                                            onlyFrom: [chosen.status]) else { return .lostRace }
        let plaintext = try cipher().open(chosen.sealedCredentials, provider: chosen.provider, label: chosen.label)
        return .leased(AccountLease(accountID: chosen.id, provider: chosen.provider, label: chosen.label,
                                    credentialsJSON: String(decoding: plaintext, as: UTF8.self)))
    }

    /// Puts an account into cooldown until `until` (a provider rate limit). An account out of
    /// rotation (invalid, or disabled by the gateway or an operator) stays out.
    public func coolDown(accountID: String, until: Date) async throws {
        try await store.updateAccount(id: accountID, status: .cooldown, statusReason: "rate limited by the provider", cooldownUntil: until,
                                      lastUsedAt: nil, onlyFrom: [.verified, .cooldown])
    }

    /// Takes an account out of rotation, with the reason an operator will see: `.invalid` for a
    /// key the provider refused, `.disabled` for one out of credit. An operator enables it again.
    public func takeOutOfRotation(accountID: String, status: AccountRecord.Status, reason: String) async throws {
        try await store.updateAccount(id: accountID, status: status, statusReason: reason, cooldownUntil: nil, lastUsedAt: nil, onlyFrom: nil)
    }

    /// An account's credentials, opened (to check them with the provider). Never log them.
    public func credentials(of account: AccountRecord) throws -> String {
        String(decoding: try cipher().open(account.sealedCredentials, provider: account.provider, label: account.label), as: UTF8.self)
    }

    /// When the earliest cooling account of `provider` frees up; nil when none is cooling (then no
    /// account is usable at all until an operator adds or enables one).
    public func nextAvailableAt(provider: String, now: Date = Date()) async throws -> Date? {
        try await store.accounts(provider: provider)
            .filter { $0.status == .cooldown }
            .compactMap { $0.cooldownUntil.map { max($0, now) } }
            .min()
    }

    private func cipher() throws -> CredentialCipher {
        if let loadedCipher { return loadedCipher }
        let cipher = try loadCipher()
        loadedCipher = cipher
        return cipher
    }

    static func isUsable(_ account: AccountRecord, now: Date) -> Bool {
        switch account.status {
        case .verified: true
        case .cooldown: (account.cooldownUntil ?? .distantFuture) <= now
        case .disabled, .invalid: false
        }
    }
}
