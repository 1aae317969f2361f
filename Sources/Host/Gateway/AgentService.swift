import Foundation

/// Agents: a loaded driver, its configuration (validated by creating an instance from it), the
/// environment added to its commands and its workspace.
public struct AgentService: Sendable {
    let store: any GatewayStore
    let plugins: PluginService
    /// What an agent's workspace may neither be, hold, nor lie in (the sandbox makes the workspace
    /// writable): the gateway's data and plugins directories and its configuration file.
    var protectedPaths: [String] = []
    /// The default workspaces' folder, inside the data directory: workspaces below it are fine.
    var workspacesFolder: String?

    /// What an agent is made of, as a front end submits it.
    public struct Definition: Sendable, Equatable {
        public var name: String
        public var driverID: String
        public var configJSON: String
        public var environment: [String: String]
        public var workspace: String?
        public var enabled: Bool
        /// Whether sandboxed commands may reach the network; nil: the gateway's `[sandbox] network`.
        public var network: Bool?

        public init(name: String, driverID: String, configJSON: String = "{}", environment: [String: String] = [:],
                    workspace: String? = nil, enabled: Bool = true, network: Bool? = nil) {
            self.network = network
            self.name = name
            self.driverID = driverID
            self.configJSON = configJSON
            self.environment = environment
            self.workspace = workspace
            self.enabled = enabled
        }
    }

    public func list() async throws -> [AgentRecord] {
        try await store.agents()
    }

    /// The agent with this id, or else this name.
    public func get(_ idOrName: String) async throws -> AgentRecord {
        if let agent = try await store.agent(id: idOrName) { return agent }
        if let agent = try await store.agent(named: idOrName) { return agent }
        throw AgentNotFound(agent: idOrName)
    }

    public func create(_ definition: Definition) async throws -> AgentRecord {
        try await store.createAgent(try await record(definition, id: StoreIDs.make()))
    }

    /// Creates the agent, or replaces the definition of the one with the same name.
    public func put(_ definition: Definition) async throws -> AgentRecord {
        try await store.upsertAgent(try await record(definition, id: StoreIDs.make()))
    }

    public func update(_ id: String, _ definition: Definition) async throws -> AgentRecord {
        let existing = try await get(id)
        var updated = try await record(definition, id: existing.id)
        updated.createdAt = existing.createdAt
        return try await store.updateAgent(updated)
    }

    /// Removes an agent that has no sessions (disable one that has, to keep its history).
    public func delete(_ id: String) async throws {
        let agent = try await get(id)
        try await store.deleteAgent(id: agent.id)
    }

    private func record(_ definition: Definition, id: String) async throws -> AgentRecord {
        guard !definition.name.isEmpty, definition.name.count <= 128,
              definition.name.unicodeScalars.allSatisfy({ $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "-_.".unicodeScalars.contains($0)) }),
              !definition.name.hasPrefix(".") else {
            throw InvalidRequest(field: "name", reason: "must be 1-128 ASCII letters, digits, '-', '_' or '.', not starting with '.'")
        }
        guard (try? JSONValue.parse(Array(definition.configJSON.utf8)))?.objectValue != nil else {
            throw InvalidRequest(field: "config", reason: "must be a JSON object")
        }
        var workspace = definition.workspace
        if let path = workspace {
            // Relative to what? The gateway's working directory is nobody's intent: refused. On bytes
            // (found by schemathesis: "/" and a combining mark).
            guard path.isAbsolutePath, !path.utf8.contains(0) else {
                throw InvalidRequest(field: "workspace", reason: "must be an absolute path (or absent: the gateway's workspaces folder)")
            }
            let normalized = URL(fileURLWithPath: path).standardizedFileURL.path
            if let reason = unsafeWorkspaceReason(normalized) { throw WorkspaceNotAllowed(workspace: normalized, reason: reason) }
            workspace = normalized
        }
        let plugin = try plugins.plugin(driverID: definition.driverID)
        do {
            try await plugin.createInstance(configJSON: definition.configJSON).retire()
        } catch {
            throw AgentConfigurationRejected(driverID: definition.driverID, reason: error.message ?? error.description)
        }
        return AgentRecord(id: id, name: definition.name, driverID: definition.driverID, configJSON: definition.configJSON,
                           environmentJSON: HostJSON.encode(definition.environment), workspace: workspace,
                           network: definition.network, status: definition.enabled ? .active : .disabled)
    }

    /// Top-level folders an agent's workspace may not be, and system folders it may not be in: the
    /// workspace is what an agent's sandboxed commands may write.
    static let systemFolders = ["/bin", "/boot", "/dev", "/etc", "/lib", "/lib32", "/lib64", "/libx32", "/proc", "/sbin", "/sys", "/usr"]
    static let topLevelFolders = ["/", "/home", "/root", "/var", "/run", "/opt", "/srv", "/tmp", "/mnt", "/media"]

    /// Why `path` (absolute, normalised) cannot be a workspace, or nil when it can.
    func unsafeWorkspaceReason(_ path: String, home: String? = ProcessInfo.processInfo.environment["HOME"]) -> String? {
        // Links resolved where they exist: a link to / is /.
        let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        let isInside = { (path: String, root: String) in path.isPath(within: root) }
        for candidate in Set([path, resolved]) {
            if Self.topLevelFolders.contains(candidate) || candidate == home {
                return "must not be \(candidate): a workspace is a folder of its own, which the agent's commands may write"
            }
            if let system = Self.systemFolders.first(where: { isInside(candidate, $0) }) {
                return "must not be in \(system): the agent's commands may write their workspace"
            }
            for protected in protectedPaths {
                let protectedResolved = URL(fileURLWithPath: protected).resolvingSymlinksInPath().path
                for guarded in Set([protected, protectedResolved]) {
                    if isInside(guarded, candidate) {
                        return "must not hold the gateway's own files (\(guarded)): the agent's commands may write their workspace"
                    }
                    if isInside(candidate, guarded) {
                        if let folder = workspacesFolder, candidate != folder,
                           isInside(candidate, folder) || isInside(candidate, URL(fileURLWithPath: folder).resolvingSymlinksInPath().path) { continue }
                        return "must not be inside the gateway's own files (\(guarded)); leave it out for the gateway's workspaces folder"
                    }
                }
            }
        }
        return nil
    }
}
