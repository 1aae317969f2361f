import Foundation

/// BYOA provider accounts: add (credentials sealed before they are stored, never returned) and
/// list. The pool that leases them to runs reads the same store.
public struct AccountService: Sendable {
    let store: any GatewayStore
    public let pool: AccountPool
    /// Asks providers whether keys work.
    public let verifier: AccountVerifier

    public init(store: any GatewayStore, pool: AccountPool, verifier: AccountVerifier = AccountVerifier()) {
        self.store = store
        self.pool = pool
        self.verifier = verifier
    }

    /// Adds an account. `credentialsJSON` must be a JSON object; it is encrypted at rest.
    public func add(provider: String, label: String, credentialsJSON: String) async throws -> AccountRecord {
        guard Self.isName(provider) else { throw InvalidRequest(field: "provider", reason: "must be 1-64 lower-case letters, digits, '-' or '_'") }
        guard !label.isEmpty, label.count <= 128 else { throw InvalidRequest(field: "label", reason: "must be 1-128 characters") }
        guard (try? JSONValue.parse(Array(credentialsJSON.utf8)))?.objectValue != nil else {
            throw InvalidRequest(field: "credentials", reason: #"must be a JSON object, e.g. {"api_key": "…"}"#)
        }
        do {
            return try await pool.add(provider: provider, label: label, credentialsJSON: credentialsJSON)
        } catch let error as StoreError where error.kind == .conflict {
            throw AccountExists(provider: provider, label: label)
        }
    }

    /// Accounts, of one provider or all, without their credentials' plaintext.
    public func list(provider: String? = nil) async throws -> [AccountRecord] {
        try await store.accounts(provider: provider)
    }

    public func get(_ id: String) async throws -> AccountRecord {
        guard let account = try await store.account(id: id) else { throw AccountNotFound(accountID: id) }
        return account
    }

    /// Takes an account out of rotation (`disabled`) or puts it back (`verified`, any cooldown
    /// cleared).
    public func setEnabled(_ id: String, _ enabled: Bool) async throws -> AccountRecord {
        _ = try await get(id)
        do {
            try await store.updateAccount(id: id, status: enabled ? .verified : .disabled,
                                         statusReason: enabled ? nil : "disabled by an operator", cooldownUntil: nil, lastUsedAt: nil,
                                         onlyFrom: nil)
        } catch let error as StoreError where error.kind == .notFound {
            throw AccountNotFound(accountID: id)
        }
        return try await get(id)
    }

    /// Asks the account's provider whether its key works, and records what that says: a refused
    /// key makes the account `invalid`, one out of credit `disabled`, a rate limit a cooldown, and
    /// an accepted key puts an `invalid` account back in rotation. What an operator or a run set
    /// is kept: a disabled account stays disabled (enabling is the operator's), an invalid one is
    /// not brought back by a rate limit, a cooldown not yet over is not cut short. The outcome is
    /// recorded only if the account is still as it was when the check began (compare-and-set): a
    /// run's finding during the check wins. An inconclusive check changes nothing.
    public func verify(_ id: String) async throws -> AccountVerification {
        let account = try await get(id)
        guard verifier.endpoints[account.provider] != nil else {
            throw ProviderNotConfigured(provider: account.provider, known: verifier.endpoints.keys.sorted())
        }
        let credentials = try await pool.credentials(of: account)
        let check = try await verifier.check(provider: account.provider, credentialsJSON: credentials)
        let finding = Self.finding(check, for: account, at: Date())
        var recorded = true
        if let change = finding.change {
            do {
                recorded = try await store.updateAccount(id: id, status: change.status, statusReason: change.reason, cooldownUntil: change.cooldownUntil,
                                                         lastUsedAt: nil, onlyFrom: [account.status])
            } catch let error as StoreError where error.kind == .notFound {
                throw AccountNotFound(accountID: id)
            }
        }
        let after = try await get(id)
        var message = check.message
        if let note = finding.note { message += "; " + note }
        if !recorded { message += "; the account changed during the check (it is now \(after.status.rawValue)); this outcome was not recorded" }
        return AccountVerification(outcome: check.outcome, message: message, account: after)
    }

    /// What a check's outcome makes of `account` as it was when the check began: a change to
    /// record, or a note on why it is kept as it is.
    struct Finding {
        struct Change {
            var status: AccountRecord.Status
            var reason: String?
            var cooldownUntil: Date?
        }
        var change: Change?
        var note: String?
    }

    static func finding(_ check: AccountCheck, for account: AccountRecord, at now: Date) -> Finding {
        let coolingUntil = account.status == .cooldown ? account.cooldownUntil.flatMap { $0 > now ? $0 : nil } : nil
        switch check.outcome {
        case .inconclusive:
            return Finding()
        case _ where account.status == .disabled:
            return Finding(note: "the account stays disabled until an operator enables it")
        case .verified:
            if let coolingUntil { return Finding(note: "the account stays in its cooldown until \(ISO8601DateFormatter().string(from: coolingUntil))") }
            return Finding(change: .init(status: .verified))
        case .invalid:
            return Finding(change: .init(status: .invalid, reason: check.message))
        case .outOfCredit:
            return Finding(change: .init(status: .disabled, reason: check.message))
        case .rateLimited:
            if account.status == .invalid { return Finding(note: "the account stays invalid until a check passes or an operator enables it") }
            let until = check.cooldownUntil ?? now.addingTimeInterval(60)
            return Finding(change: .init(status: .cooldown, reason: "rate limited by the provider", cooldownUntil: max(until, coolingUntil ?? until)))
        }
    }

    /// Removes an account and its sealed credentials.
    public func delete(_ id: String) async throws {
        guard try await store.deleteAccount(id: id) else { throw AccountNotFound(accountID: id) }
    }

    static func isName(_ text: String) -> Bool {
        !text.isEmpty && text.count <= 64 && text.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" || $0 == "_" }
    }
}

/// What checking an account's key found, and the account after it was recorded.
public struct AccountVerification: Sendable {
    public var outcome: AccountCheck.Outcome
    public var message: String
    public var account: AccountRecord
}

/// An account with this provider and label exists already. (HTTP: 409 `ACCOUNT_EXISTS`.)
public struct AccountExists: Error, Sendable, Equatable, CustomStringConvertible {
    public var provider: String
    public var label: String
    public var description: String { "an account \(provider)/\(label) already exists" }
}

/// No account has this id. (HTTP: 404 `ACCOUNT_NOT_FOUND`.)
public struct AccountNotFound: Error, Sendable, Equatable, CustomStringConvertible {
    public var accountID: String
    public var description: String { "account \(accountID) not found" }
}
