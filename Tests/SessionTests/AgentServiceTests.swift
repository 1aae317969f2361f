import Foundation
@testable import Host
import HostTestSupport
import Testing

/// Agents through the service every front end uses: the driver must be loaded and must accept
/// the configuration, and each mistake has its own error.
@Suite("agent service")
struct AgentServiceTests {
    @Test("create, read, update and delete an agent; each bad definition is refused with its own error")
    func lifecycle() async throws {
        let directory = try TemporaryDirectory("agents")
        try directory.write("plugins.d/sdk.toml", "path = \"\(TestPaths.library("SDKDriver").path)\"\n")
        let harness = try await SessionHarness(directory: directory)
        defer { harness.remove() }
        let agents = harness.gateway.agents
        let created = try await agents.create(AgentService.Definition(name: "writer", driverID: "test.scripted", environment: ["CI": "1"]))
        #expect(try await agents.get("writer") == created)
        #expect(try await agents.get(created.id).environment == ["CI": "1"])

        let updated = try await agents.update(created.id, AgentService.Definition(name: "writer", driverID: "test.scripted", enabled: false))
        #expect(updated.status == .disabled)
        #expect(updated.createdAt == created.createdAt)

        await #expect(throws: DriverNotLoaded.self) { try await agents.create(AgentService.Definition(name: "x", driverID: "nope.driver")) }
        await #expect(throws: InvalidRequest.self) { try await agents.create(AgentService.Definition(name: "", driverID: "test.scripted")) }
        await #expect(throws: InvalidRequest.self) {
            try await agents.create(AgentService.Definition(name: "y", driverID: "test.scripted", configJSON: "[1]"))
        }
        let relative = await #expect(throws: InvalidRequest.self) {
            try await agents.create(AgentService.Definition(name: "w", driverID: "test.scripted", workspace: "work/here"))
        }
        #expect(relative?.field == "workspace")
        let normalized = try await agents.create(AgentService.Definition(name: "n", driverID: "test.scripted", workspace: "/srv/agents/../work/./n"))
        #expect(normalized.workspace == "/srv/work/n")
        // "/" and a combining skin-tone modifier are one Character but still an absolute path
        // (found by schemathesis).
        let modified = try await agents.create(AgentService.Definition(name: "m", driverID: "test.scripted", workspace: "/\u{1F3FB}work"))
        #expect(modified.workspace == "/\u{1F3FB}work")
        try await agents.delete(modified.id)
        try await agents.delete(normalized.id)
        // A workspace is what the agent's sandboxed commands may write: never the system, a whole
        // top-level folder, or the gateway's own files.
        let data = harness.gateway.configuration.dataDirectory
        let link = harness.directory.file("to-root")
        try FileManager.default.createSymbolicLink(atPath: link.path, withDestinationPath: "/")
        for unsafe in ["/", "/etc", "/usr/local/src/w", "/home", "/tmp", data.path, data.appendingPathComponent("sub").path,
                       data.deletingLastPathComponent().path, harness.directory.file("plugins.d").path, link.path,
                       data.appendingPathComponent("workspaces").path] {
            await #expect(throws: WorkspaceNotAllowed.self, "\(unsafe)") {
                try await agents.create(AgentService.Definition(name: "u", driverID: "test.scripted", workspace: unsafe))
            }
        }
        let inDefaults = try await agents.create(AgentService.Definition(
            name: "d", driverID: "test.scripted", workspace: data.appendingPathComponent("workspaces/shared").path))
        try await agents.delete(inDefaults.id)
        let refused = await #expect(throws: AgentConfigurationRejected.self) {
            try await agents.create(AgentService.Definition(name: "z", driverID: "flywheel.sdk", configJSON: #"{"provider":"acme"}"#))
        }
        #expect(refused?.reason.contains("provider 'acme' is not supported") == true)
        await #expect(throws: AgentNotFound(agent: "ghost")) { try await agents.get("ghost") }

        // An agent with sessions keeps its history: deleting it is refused; one without goes.
        _ = try await harness.submit("events=1", agent: updated)
        await #expect(throws: StoreError.self) { try await agents.delete(created.id) }
        let spare = try await agents.create(AgentService.Definition(name: "spare", driverID: "test.scripted"))
        try await agents.delete(spare.id)
        await #expect(throws: AgentNotFound.self) { try await agents.get(spare.id) }
        #expect(try await agents.list().map(\.name) == ["writer"])
        await harness.stop()
    }

    @Test("a command's cwd stays inside the workspace, read as bytes: a combining mark after '/' hides no '..' and no root")
    func commandWorkingDirectory() throws {
        let folder = try TemporaryDirectory("cwd")
        defer { folder.remove() }
        let workspace = folder.file("ws")
        try FileManager.default.createDirectory(at: workspace.appendingPathComponent("src/\u{301}"), withIntermediateDirectories: true)
        #expect(try CommandGate.workingDirectory(workspace: workspace, cwd: "src").lastPathComponent == "src")
        #expect(try CommandGate.workingDirectory(workspace: workspace, cwd: "src/\u{301}").lastPathComponent == "\u{301}")
        #expect(try CommandGate.workingDirectory(workspace: workspace, cwd: nil) == workspace)
        for cwd in ["../x", "/etc", "/\u{301}etc", "../\u{301}x", "src/../../x", "src/\u{301}/../../..", "a\u{0}b"] {
            #expect(throws: CommandGate.WorkingDirectoryError.self, "\(cwd)") { try CommandGate.workingDirectory(workspace: workspace, cwd: cwd) }
        }
    }

    @Test("an agent stored with a workspace the rules refuse never runs there: its session fails saying why")
    func storedUnsafeWorkspace() async throws {
        let harness = try await SessionHarness()
        defer { harness.remove() }
        // Written to the store directly, as an agent stored before the rules existed would be.
        let data = harness.gateway.configuration.dataDirectory
        let agent = try await harness.store.upsertAgent(AgentRecord(name: "old", driverID: "test.scripted", workspace: data.path))
        let session = try await harness.submit("command=touch+marker events=1", agent: agent)
        let ended = try await harness.waitForState(session.id, [.done, .failed, .cancelled])
        #expect(ended.state == .failed)
        #expect(ended.error?.contains("the agent's workspace \(data.path) must not") == true, "\(ended.error ?? "")")
        #expect(!FileManager.default.fileExists(atPath: data.appendingPathComponent("marker").path), "nothing ran there")
        await harness.stop()
    }
}
