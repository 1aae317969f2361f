import ArgumentParser
import Logging

@main
struct Flywheel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "flywheel",
        abstract: "Flywheel Gateway: runs fleets of AI coding agents through driver plugins, with every agent command checked by the Destructive Command Guard.",
        version: "0.1.0",
        subcommands: [ServeCommand.self, LoginCommand.self, LogoutCommand.self, UsersCommand.self, PluginsCommand.self, DCGCommand.self,
                      AgentsCommand.self, SessionsCommand.self, AccountsCommand.self])
}

/// Options every command that logs shares. Logs go to standard error, so standard output stays
/// machine-readable.
struct LoggingOptions: ParsableArguments {
    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .warning

    func makeLogger(label: String = "flywheel") -> Logger {
        Self.makeLogger(level: logLevel, label: label)
    }

    static func makeLogger(level: Logger.Level, label: String = "flywheel") -> Logger {
        var logger = Logger(label: label) { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        logger.logLevel = level
        return logger
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
