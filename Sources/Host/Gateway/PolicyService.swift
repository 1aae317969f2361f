import Crypto
import Foundation

/// The command policy the gateway applies now. It is replaced as a whole and read once per
/// command, so a command is judged by one policy from start to end, never half of two.
public final class ActivePolicy: Sendable {
    private let value: Locked<CommandPolicy>

    public init(_ policy: CommandPolicy) {
        value = Locked(policy)
    }

    public var current: CommandPolicy { value.withLock { $0 } }

    func replace(_ policy: CommandPolicy) {
        value.withLock { $0 = policy }
    }
}

/// The policy as operators see and change it over the API (`GET`/`PUT`/`DELETE /api/dcg/config`).
///
/// A policy set through the API is kept in `<data>/policy.toml`, written atomically, and takes
/// precedence over the one the gateway was started with (`[policy]` of `flywheel.toml`, a
/// `policy.toml` beside the plugins, or the defaults) until it is removed again; at the next start
/// it is read back, and a file that no longer reads stops the start with its line and reason.
/// Changes are one at a time, and compare-and-set when the caller names the version it read.
public final class PolicyService: Sendable {
    public enum Source: String, Sendable {
        /// What the gateway was started with.
        case configured
        /// Set through the API, kept in the data directory.
        case api
    }

    /// The policy in force, with the text that reads back to it.
    public struct Snapshot: Sendable {
        public let configuration: PolicyConfiguration
        public let source: Source
        /// Changes whenever the text does; pass it back to change only what was read.
        public let version: String
        /// TOML as in a `policy.toml`: the stored text when set through the API, else the settings written out.
        public let toml: String
    }

    public let active: ActivePolicy
    /// Where a policy set through the API is kept.
    public let file: URL
    let configured: PolicyConfiguration
    /// Only the gateway that runs the sessions applies a policy; a client of it cannot change it.
    let owner: Bool
    private let snapshot: Locked<Snapshot>
    /// File writes happen here, one change at a time, off the cooperative pool.
    private static let queue = DispatchQueue(label: "flywheel.policy-file")

    public static func fileName(in dataDirectory: URL) -> URL { dataDirectory.appendingPathComponent("policy.toml") }

    /// Reads a policy stored by the API, if there is one; its errors name the file and line.
    public init(configured: PolicyConfiguration, dataDirectory: URL, owner: Bool) throws {
        self.configured = configured
        self.owner = owner
        file = Self.fileName(in: dataDirectory)
        var initial = Self.snapshot(configured, source: .configured, toml: configured.tomlText)
        if FileManager.default.fileExists(atPath: file.path) {
            let text = try String(contentsOf: file, encoding: .utf8)
            initial = Self.snapshot(try PolicyConfiguration.parse(text, file: file), source: .api, toml: text)
        }
        snapshot = Locked(initial)
        active = ActivePolicy(CommandPolicy(configuration: initial.configuration))
    }

    public var current: Snapshot { snapshot.withLock { $0 } }

    /// Checks `toml` as a `policy.toml`, keeps it and applies it to every command from now on.
    /// With `expectedVersion`, only when the policy is still the one of that version.
    public func replace(toml: String, expectedVersion: String?) async throws -> Snapshot {
        guard owner else { throw PolicyNotChangeable() }
        let configuration: PolicyConfiguration
        do {
            configuration = try PolicyConfiguration.parse(toml, file: URL(fileURLWithPath: "policy.toml"))
        } catch {
            throw PolicyRejected(line: error.line, reason: error.reason)
        }
        return try await change(expectedVersion: expectedVersion, to: Self.snapshot(configuration, source: .api, toml: toml)) { file in
            try Data(toml.utf8).write(to: file, options: .atomic)
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file.path)
        }
    }

    /// Drops the policy set through the API: the one the gateway was started with applies again.
    public func reset(expectedVersion: String?) async throws -> Snapshot {
        guard owner else { throw PolicyNotChangeable() }
        let configured = configured
        return try await change(expectedVersion: expectedVersion, to: Self.snapshot(configured, source: .configured, toml: configured.tomlText)) { file in
            if FileManager.default.fileExists(atPath: file.path) { try FileManager.default.removeItem(at: file) }
        }
    }

    private func change(expectedVersion: String?, to next: Snapshot, write: @escaping @Sendable (URL) throws -> Void) async throws -> Snapshot {
        let file = file
        return try await withCheckedThrowingContinuation { continuation in
            Self.queue.async {
                continuation.resume(with: Result {
                    let current = self.current
                    if let expectedVersion, expectedVersion != current.version { throw PolicyChanged(version: current.version) }
                    // The file first: a policy applied but not kept would be lost at the next start.
                    try write(file)
                    self.active.replace(CommandPolicy(configuration: next.configuration))
                    self.snapshot.withLock { $0 = next }
                    return next
                })
            }
        }
    }

    private static func snapshot(_ configuration: PolicyConfiguration, source: Source, toml: String) -> Snapshot {
        let digest = SHA256.hash(data: Data((source.rawValue + "\n" + toml).utf8))
        let version = digest.prefix(8).map { String(format: "%02x", $0) }.joined()
        return Snapshot(configuration: configuration, source: source, version: version, toml: toml)
    }
}

/// A policy text that does not read: the line (of the text) and the reason, as the CLI says them.
public struct PolicyRejected: Error, Sendable, Equatable, CustomStringConvertible {
    public var line: Int?
    public var reason: String

    public var description: String { "policy.toml\(line.map { ":\($0)" } ?? ""): \(reason)" }
}

/// The policy changed since the caller read it.
public struct PolicyChanged: Error, Sendable, Equatable, CustomStringConvertible {
    public var version: String

    public var description: String { "the policy changed since it was read (it is now version \(version))" }
}

/// This gateway does not run the sessions, so its policy is not the one that applies.
public struct PolicyNotChangeable: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String { "the policy can only be changed on the gateway that runs the sessions (the owner of the data directory)" }
}
