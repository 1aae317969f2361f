import ArgumentParser
import FlywheelClient
import Foundation
import Host

struct AgentsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "agents", abstract: "Manage agents (a driver, its configuration and a workspace), locally or on a server (--server).",
        subcommands: [List.self, Show.self, Create.self, Delete.self], defaultSubcommand: List.self)

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List agents.")
        @Flag(name: .long, help: "Print JSON.") var json = false
        @OptionGroup var gateway: GatewayOptions
        @OptionGroup var server: ServerOptions

        func run() async throws {
            try await reportingFailures {
                let agents = try await AgentsCommand.agents(server: server, gateway: gateway)
                if json { return try printJSON(agents) }
                if agents.isEmpty { print("no agents") }
                for agent in agents {
                    print("\(agent.id)  \(agent.name)  \(agent.driverId)\(agent.enabled ? "" : "  (disabled)")  \(agent.workspace ?? "-")")
                }
            }
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "show", abstract: "Show one agent as JSON (environment values are never shown).")
        @Argument(help: "The agent (id or name).") var agent: String
        @OptionGroup var gateway: GatewayOptions
        @OptionGroup var server: ServerOptions

        func run() async throws {
            try await reportingFailures {
                if let client = try server.client() { return try printJSON(try await client.agent(agent)) }
                try printJSON(AgentsCommand.shown(try await gateway.openGateway(readOnly: true).agents.get(agent)))
            }
        }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "create", abstract: "Create an agent on a loaded driver; its configuration is checked by making a driver instance.")
        @Option(name: .long, help: "A name unique among agents.") var name: String
        @Option(name: .long, help: "The driver id (see `flywheel plugins list`).") var driver: String
        @Option(name: .long, help: "The driver configuration: a JSON object.") var config: String = "{}"
        @Option(name: .long, help: "An environment variable for the agent's commands: KEY=VALUE (repeatable; values are write-only).")
        var env: [String] = []
        @Option(name: .long, help: "The workspace: an absolute path (default: a folder of its own in the data directory).") var workspace: String?
        @Option(name: .long, help: "Whether its sandboxed commands may use the network (true or false; default: the gateway's setting).")
        var network: Bool?
        @Flag(name: .long, help: "Print the agent as JSON.") var json = false
        @OptionGroup var gateway: GatewayOptions
        @OptionGroup var server: ServerOptions

        func run() async throws {
            let configuration: JSONValue
            do {
                configuration = try JSONValue.parse(config)
            } catch {
                throw ValidationError("--config must be a JSON object: \(error)")
            }
            guard configuration.objectValue != nil else { throw ValidationError("--config must be a JSON object, like {\"profile\": \"shell\"}") }
            var environment: [String: String] = [:]
            for pair in env {
                guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else { throw ValidationError("--env takes KEY=VALUE, not '\(pair)'") }
                environment[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
            }
            try await reportingFailures {
                let created: Agent
                if let client = try server.client() {
                    created = try await client.createAgent(NewAgent(name: name, driverId: driver, config: configuration,
                                                                    environment: environment.isEmpty ? nil : environment, workspace: workspace, network: network))
                } else {
                    let gateway = try await gateway.openGateway()
                    _ = try gateway.plugins.plugin(driverID: driver)
                    created = AgentsCommand.shown(try await gateway.agents.create(AgentService.Definition(
                        name: name, driverID: driver, configJSON: configuration.text, environment: environment, workspace: workspace, network: network)))
                }
                if json { return try printJSON(created) }
                print("\(created.id) \(created.name) created on \(created.driverId)")
            }
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "delete", abstract: "Delete an agent that has no sessions (one with history can only be disabled).")
        @Argument(help: "The agent (id or name).") var agent: String
        @OptionGroup var gateway: GatewayOptions
        @OptionGroup var server: ServerOptions

        func run() async throws {
            try await reportingFailures {
                if let client = try server.client() {
                    let found = try await client.agent(agent)
                    try await client.deleteAgent(found.id)
                    print("\(found.id) \(found.name) deleted")
                    return
                }
                let agents = try await gateway.openGateway().agents
                let found = try await agents.get(agent)
                try await agents.delete(found.id)
                print("\(found.id) \(found.name) deleted")
            }
        }
    }

    static func agents(server: ServerOptions, gateway: GatewayOptions) async throws -> [Agent] {
        if let client = try server.client() { return try await client.agents() }
        return try await gateway.openGateway(readOnly: true).agents.list().map(shown)
    }

    /// A stored agent as the API shows it, so both modes print the same.
    static func shown(_ agent: AgentRecord) -> Agent {
        Agent(id: agent.id, name: agent.name, driverId: agent.driverID, config: (try? JSONValue.parse(agent.configJSON)) ?? .object([:]),
              environmentNames: agent.environment.keys.sorted(), workspace: agent.workspace, network: agent.network,
              enabled: agent.status == .active, createdAt: agent.createdAt, updatedAt: agent.updatedAt)
    }
}
