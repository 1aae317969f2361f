import Foundation
@_spi(Testing) import Host
import HostTestSupport
import Testing

@Suite("sandbox settings")
struct SandboxSettingsTests {
    @Test("[sandbox] mode and network are read; a bad mode or key names the line")
    func gatewayFile() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let good = try folder.write("good.toml", "[sandbox]\nmode = \"required\"\nnetwork = false\n")
        let configuration = try GatewayConfiguration.load(contentsOf: good)
        #expect(configuration.sandbox == SandboxSettings(mode: .required, network: false))
        #expect(try GatewayConfiguration.load(contentsOf: folder.write("none.toml", "")).sandbox == SandboxSettings(mode: .auto, network: true))

        let badMode = try folder.write("bad-mode.toml", "[sandbox]\nmode = \"sometimes\"\n")
        #expect(throws: ConfigurationError(file: badMode.path, line: 2,
                                           reason: "sandbox.mode: unknown mode 'sometimes' (use auto, required or off)")) {
            try GatewayConfiguration.load(contentsOf: badMode)
        }
        let badKey = try folder.write("bad-key.toml", "[sandbox]\nnetwrok = false\n")
        #expect(throws: ConfigurationError.self) { try GatewayConfiguration.load(contentsOf: badKey) }
    }

    @Test("mode required refuses to run without a working sandbox, with the reason; auto runs unconfined; off never probes")
    func requiredWithoutSandbox() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        var configuration = GatewayConfiguration(dataDirectory: folder.file("data"), pluginsDirectory: folder.file("plugins.d"))
        try FileManager.default.createDirectory(at: folder.file("plugins.d"), withIntermediateDirectories: true)
        let catalog = try PluginLoader(logger: .quiet).loadDirectory(folder.file("plugins.d"))
        let nowhere = "/nonexistent-flywheel-bin"
        configuration.sandbox.mode = .required
        do {
            _ = try await Gateway.sandboxStatus(configuration: configuration, catalog: catalog, logger: .quiet, searchPath: nowhere)
            Issue.record("a required sandbox was reported available without bwrap")
        } catch let error as SandboxUnavailable {
            #expect(error.description == "the sandbox is required ([sandbox] mode = \"required\") but unavailable: bwrap (Debian package bubblewrap) is not installed")
        }
        configuration.sandbox.mode = .auto
        #expect(try await Gateway.sandboxStatus(configuration: configuration, catalog: catalog, logger: .quiet, searchPath: nowhere)
            == .unavailable(reason: "bwrap (Debian package bubblewrap) is not installed"))
        configuration.sandbox.mode = .off
        #expect(try await Gateway.sandboxStatus(configuration: configuration, catalog: catalog, logger: .quiet) == .disabled)
    }

    @Test("an agent file's [sandbox] network is stored with the agent and survives a reopen")
    func agentNetwork() async throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let file = try folder.write("offline.toml", "driver = \"test.scripted\"\n[sandbox]\nnetwork = false\n")
        let definition = try AgentDefinition.load(contentsOf: file)
        #expect(definition.network == false)
        #expect(try AgentDefinition.load(contentsOf: folder.write("plain.toml", "driver = \"test.scripted\"\n")).network == nil)

        let harness = try await SessionHarness(directory: folder)
        let offline = try await harness.gateway.agents.put(AgentService.Definition(name: "offline", driverID: "test.scripted", network: false))
        let online = try await harness.gateway.agents.put(AgentService.Definition(name: "online", driverID: "test.scripted", network: true))
        let inherit = try await harness.gateway.agents.put(AgentService.Definition(name: "inherit", driverID: "test.scripted"))
        try await harness.shutDown()
        let store = try SQLiteStore(configuration: StoreConfiguration(databaseFile: folder.file("data/flywheel.sqlite")))
        #expect(try await store.agent(id: offline.id)?.network == false)
        #expect(try await store.agent(id: online.id)?.network == true)
        #expect(try await store.agent(id: inherit.id)?.network == nil)
    }

    @Test("an agent with network off runs its commands without the host's network")
    func agentWithoutNetwork() async throws {
        let harness = try await SessionHarness()
        defer { harness.remove() }
        let listener = try LoopbackListener()
        defer { listener.close() }
        var offline = try await harness.agent()
        offline.network = false
        offline = try await harness.store.updateAgent(offline)
        // The scripted driver puts the command into JSON as it is: no double quotes (2130706433 is 127.0.0.1).
        let command = "python3+-c+'import+socket,ipaddress;socket.create_connection((str(ipaddress.ip_address(2130706433)),\(listener.port)),timeout=5)'+&&+echo+reached"
        let session = try await harness.submit("command=\(command) events=1", agent: offline)
        #expect(try await harness.waitForState(session.id, [.done, .failed]).state == .done)
        let events = try await harness.events(session.id)
        let decision = try #require(events.first { $0.type == "host.command.decision" })
        #expect(decision.object["sandboxed"] as? Bool == true)
        #expect(decision.object["network"] as? Bool == false)
        #expect(!events.contains { $0.type == "host.command.output" && ($0.object["text"] as? String) == "reached\n" })
        #expect(events.first { $0.type == "host.command.exit" }?.object["exit_code"] as? Int != 0)
        await harness.stop()
    }
}
