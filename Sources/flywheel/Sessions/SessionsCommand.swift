import ArgumentParser
import Foundation
import Host
import ServiceLifecycle

struct SessionsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sessions", abstract: "Run, control and follow sessions, on the local data directory or a server (--server).",
        subcommands: [SessionsRunCommand.self, SessionsCreateCommand.self, SessionsTailCommand.self, SessionsListCommand.self, SessionsShowCommand.self, SessionsEventsCommand.self,
                      SessionsCancelCommand.self, SessionsPauseCommand.self, SessionsResumeCommand.self])
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
            3 paused, 4 stopped by SIGTERM and queued again to resume. Sessions a previous process left \
            running are recovered first: those that can resume are queued again for `flywheel serve`, the \
            others fail with the reason. SIGTERM stops the run gracefully (checkpointed and queued again \
            where the driver can resume, failed otherwise).
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
        try await reportingFailures {
            let definition = try loadAgent()
            let logger = logging.makeLogger()
            let gateway = try await gateway.openGateway(scope: .only([]), requireOwnership: true, logger: logger)
            _ = try gateway.plugins.plugin(driverID: definition.driverID)
            let agent = try await gateway.agents.put(AgentService.Definition(
                name: definition.name, driverID: definition.driverID, configJSON: definition.configJSON,
                environment: definition.environment, workspace: definition.workspace?.path, network: definition.network))
            guard let service = gateway.service() else { throw CommandFailure("this process does not own the data directory") }
            let group = ServiceGroup(configuration: ServiceGroupConfiguration(
                services: [.init(service: service)], gracefulShutdownSignals: [.sigterm], logger: logger))
            let session = try await gateway.sessions.create(agentID: agent.id, task: task)
            FileHandle.standardError.write(Data("session \(session.id)\n".utf8))
            let sessions = gateway.sessions
            let interrupt = SignalWatcher(SIGINT) { Task { try? await sessions.cancel(session.id) } }
            defer { withExtendedLifetime(interrupt) {} }
            let feed = try await gateway.events.subscribe(sessionID: session.id, untilSessionEnds: true)
            let json = self.json
            // Whichever ends first: the session (then the gateway shuts down), or the gateway (SIGTERM:
            // the run was stopped, then checkpointed and queued again or failed; its events are printed).
            /// What the session's feed ended with: its final (or paused) state, if it reached one, and
            /// the last seq printed. Nil for the gateway's own task.
            typealias Followed = (state: SessionState?, printedUpTo: Int64)
            let ended = try await withThrowingTaskGroup(of: Followed?.self) { tasks in
                tasks.addTask {
                    try await group.run()
                    return nil
                }
                tasks.addTask {
                    var printed: Int64 = 0
                    do {
                        for try await event in feed {
                            await writeLine(json ? EventPrinting.json(event) : EventPrinting.line(event))
                            printed = event.seq
                            if event.type == "host.session.state", let state = EventPrinting.state(of: event), state.isTerminal || state == .paused {
                                return (state, printed)
                            }
                        }
                    } catch is CancellationError {}
                    return (nil, printed)
                }
                var followed = try await tasks.next() ?? nil
                if followed == nil {
                    tasks.cancelAll()  // The gateway stopped first: the session will not move now.
                } else {
                    await group.triggerGracefulShutdown()
                }
                while let next = try await tasks.next() { followed = followed ?? next }
                return followed ?? (nil, 0)
            }
            let finalState = ended.state
            // What the shutdown wrote after the feed stopped (the session queued again, say).
            for event in try await gateway.events.events(sessionID: session.id, after: ended.printedUpTo, limit: 1000) {
                await writeLine(json ? EventPrinting.json(event) : EventPrinting.line(event))
            }
            let current = try await gateway.sessions.show(session.id)
            if finalState == nil {
                FileHandle.standardError.write(Data("the host stopped: session \(session.id) is \(current.state.rawValue)\n".utf8))
            }
            switch finalState ?? current.state {
            case .done: return
            case .failed: throw ExitCode(1)
            case .cancelled: throw ExitCode(2)
            case .paused: throw ExitCode(3)
            case .queued: throw ExitCode(4)
            default: throw ExitCode(1)
            }
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
/// if the process dies right after. The write (which blocks while a slow reader's pipe is full)
/// runs on a thread of its own, not Swift's cooperative pool; the caller waits for it.
func writeLine(_ line: String) async {
    let data = Data((line + "\n").utf8)
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
        standardOutputQueue.async {
            FileHandle.standardOutput.write(data)
            continuation.resume()
        }
    }
}

private let standardOutputQueue = DispatchQueue(label: "flywheel.stdout")

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
