import ArgumentParser
import Foundation
import Host

struct SessionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sessions", abstract: "Run sessions and read their history from the store.",
        subcommands: [SessionsRunCommand.self, SessionsListCommand.self, SessionsShowCommand.self, SessionsEventsCommand.self,
                      SessionsCancelCommand.self])
}

struct SessionsRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run one session in the foreground on the embedded store, printing its events as they are stored.",
        discussion: """
            --agent takes an agent file (TOML: name, driver, workspace, [config], [env]) or a driver id \
            (an agent of that name is created). --config key=value overrides the driver configuration \
            (values that parse as JSON are JSON). Every command the agent asks for goes through the \
            command policy. Ctrl-C cancels the session. Exit status: 0 done, 1 failed, 2 cancelled, \
            3 paused. Sessions a previous process left running are recovered first.
            """)

    @Option(name: .long, help: "An agent file (.toml) or a driver id.")
    var agent: String

    @Option(name: .long, help: "Override a driver configuration value: key=value (repeatable).")
    var config: [String] = []

    @Flag(name: .long, help: "Print events as JSON lines.")
    var json = false

    @Argument(help: "The task.")
    var task: String

    @OptionGroup var gateway: GatewayOptions
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        let (configuration, policy) = try gateway.load()
        let definition = try loadAgent()
        let runtime: GatewayRuntime
        do {
            runtime = try await GatewayRuntime.open(configuration: configuration, policy: policy,
                                                    environment: ProcessInfo.processInfo.environment, logger: logging.makeLogger())
        } catch {
            throw ValidationError("\(error)")
        }
        guard runtime.catalog.plugin(driverID: definition.driverID) != nil else {
            let known = runtime.catalog.loadedPlugins.map(\.descriptor.id).sorted().joined(separator: ", ")
            throw ValidationError("driver '\(definition.driverID)' is not loaded from \(configuration.pluginsDirectory.path) (loaded: \(known.isEmpty ? "none" : known))")
        }
        let environmentData = try JSONSerialization.data(withJSONObject: definition.environment, options: [.sortedKeys])
        let agent = try await runtime.store.upsertAgent(AgentRecord(
            name: definition.name, driverID: definition.driverID, configJSON: definition.configJSON,
            environmentJSON: String(decoding: environmentData, as: UTF8.self), workspace: definition.workspace?.path))

        let subscription = runtime.hub.subscribe()
        let scheduler = runtime.scheduler
        let schedulerTask = Task { await scheduler.run() }
        let session = try await scheduler.submit(agentID: agent.id, task: task)
        FileHandle.standardError.write(Data("session \(session.id)\n".utf8))
        let interrupt = SignalWatcher(SIGINT) { Task { try? await scheduler.cancel(sessionID: session.id) } }
        defer { _ = interrupt }

        var printed: Int64 = 0
        var finalState = SessionState.running
        reading: for await event in subscription.events where event.sessionID == session.id {
            // A slow terminal may miss buffered events; fill any gap from the store, so output is complete.
            if event.seq > printed + 1 {
                for missed in try await runtime.store.events(sessionID: session.id, afterSeq: printed, limit: Int(event.seq - printed - 1)) {
                    writeLine(json ? EventPrinting.json(missed) : EventPrinting.line(missed))
                }
            }
            guard event.seq > printed else { continue }
            writeLine(json ? EventPrinting.json(event) : EventPrinting.line(event))
            printed = event.seq
            if event.type == "host.session.state",
               let state = ((try? JSONSerialization.jsonObject(with: Data(event.payload.utf8))) as? [String: Any])?["state"] as? String,
               let parsed = SessionState(rawValue: state), parsed.isTerminal || parsed == .paused {
                finalState = parsed
                break reading
            }
        }
        schedulerTask.cancel()
        await schedulerTask.value
        switch finalState {
        case .done: return
        case .failed: throw ExitCode(1)
        case .cancelled: throw ExitCode(2)
        case .paused: throw ExitCode(3)
        default: throw ExitCode(1)
        }
    }

    func loadAgent() throws -> AgentDefinition {
        var definition: AgentDefinition
        if agent.hasSuffix(".toml") {
            do {
                definition = try AgentDefinition.load(contentsOf: URL(fileURLWithPath: agent))
            } catch {
                throw ValidationError(error.description)
            }
        } else if DriverDescriptor.isValidID(agent) {
            definition = AgentDefinition(name: agent, driverID: agent)
        } else {
            throw ValidationError("--agent must be an agent file (.toml) or a driver id, not '\(agent)'")
        }
        do {
            definition = try definition.overridingConfig(config)
        } catch {
            throw ValidationError(error.description)
        }
        return definition
    }
}

/// Writes a line straight to standard output, unbuffered: a line printed is a line delivered, even
/// if the process dies right after.
func writeLine(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// Runs a handler when the process receives a signal, instead of dying.
final class SignalWatcher: @unchecked Sendable {
    private let source: any DispatchSourceSignal

    init(_ signal: Int32, handler: @escaping @Sendable () -> Void) {
        Foundation.signal(signal, SIG_IGN)
        source = DispatchSource.makeSignalSource(signal: signal, queue: .global())
        source.setEventHandler(handler: handler)
        source.resume()
    }

    deinit {
        source.cancel()
    }
}
