import ArgumentParser
import Foundation
import Host
import Logging
import Metrics
import Prometheus
import Server
import ServiceLifecycle
import UnixSignals

/// `flywheel serve`: the gateway as a long-running server.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the gateway: sessions, the HTTP API and its sign-in.",
        discussion: """
            Owns the data directory (only one gateway may), recovers sessions a previous run left, \
            and serves the HTTP API on [server] host and port of flywheel.toml (default \
            127.0.0.1:8080), overridden by --host/--port or FLYWHEEL_HOST/FLYWHEEL_PORT. Port 0 picks \
            a free port. Prints one line, "listening on http://HOST:PORT", when it accepts requests.

            With no users yet, the first admin is FLYWHEEL_ADMIN_EMAIL / FLYWHEEL_ADMIN_PASSWORD, or \
            admin@localhost with a generated password printed once on standard error.

            Access tokens are signed with FLYWHEEL_JWT_SECRET, or with the key in \
            <data>/jwt-signing.key (made on first start, mode 0600). SIGTERM or SIGINT: stop \
            accepting requests, let running sessions checkpoint or end, then exit.
            """)

    @Option(name: .long, help: "The address to listen on (default: [server] host, else 127.0.0.1).")
    var host: String?

    @Option(name: .long, help: "The port to listen on; 0 picks a free one (default: [server] port, else 8080).")
    var port: Int?

    @OptionGroup var gateway: GatewayOptions
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        try await reportingFailures {
            let environment = ProcessInfo.processInfo.environment
            var logging = self.logging
            if logging.logLevel == .warning { logging.logLevel = .info }
            let logger = logging.makeLogger()
            // Before anything that counts is made: counters bind to the factory there is when created.
            let metrics = PrometheusCollectorRegistry()
            MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: metrics))
            let gateway = try await gateway.openGateway(requireOwnership: true, logger: logger)
            guard let service = gateway.service() else { throw CommandFailure("this process does not own the data directory") }
            let settings = gateway.configuration.server
            let host = self.host ?? environment["FLYWHEEL_HOST"] ?? settings.host
            let port = try self.port ?? environment["FLYWHEEL_PORT"].map(Self.port) ?? settings.port
            guard (0...65535).contains(port) else { throw ValidationError("--port must be 0-65535") }
            let key: SigningKey
            do {
                key = try SigningKey.load(dataDirectory: gateway.configuration.dataDirectory, environment: environment)
            } catch let failure as SigningKey.Failure {
                throw CommandFailure(failure.description)
            }
            if let admin = try await gateway.people.bootstrapAdmin(email: environment["FLYWHEEL_ADMIN_EMAIL"],
                                                                  password: environment["FLYWHEEL_ADMIN_PASSWORD"]) {
                let shown = admin.generatedPassword.map { "password \($0) (shown once: change it or set FLYWHEEL_ADMIN_PASSWORD)" }
                    ?? "password from FLYWHEEL_ADMIN_PASSWORD"
                FileHandle.standardError.write(Data("created admin \(admin.user.email) with \(shown)\n".utf8))
            }
            let tokens = await AccessTokens(key: key, lifetime: settings.accessTokenSeconds)
            let live = LiveStatistics()
            let application = APIServer.buildApplication(gateway: gateway, tokens: tokens, host: host, port: port, liveStatistics: live,
                                                         metrics: metrics, logger: logger) { host, port in
                let shown = host.contains(":") ? "[\(host)]" : host
                await writeLine("listening on http://\(shown):\(port)")
            }
            // Shutdown runs from the last service to the first: live clients are told first (1001),
            // then the server stops taking requests, then sessions checkpoint or end.
            let group = ServiceGroup(configuration: ServiceGroupConfiguration(
                services: [.init(service: service), .init(service: application), .init(service: LiveShutdownService(statistics: live))],
                logger: logger))
            // The signals are trapped before anything starts, so a SIGTERM right after "listening on"
            // is never lost (the group would trap them only once its own task got to run).
            let signals = await UnixSignalsSequence(trapping: .sigterm, .sigint)
            try await withThrowingTaskGroup(of: Void.self) { tasks in
                tasks.addTask { try await group.run() }
                tasks.addTask {
                    for await signal in signals {
                        logger.notice("shutting down on \(signal)")
                        await group.triggerGracefulShutdown()
                    }
                }
                try await tasks.next()
                tasks.cancelAll()
            }
        }
    }

    static func port(_ text: String) throws -> Int {
        guard let port = Int(text) else { throw ValidationError("FLYWHEEL_PORT must be a number, not '\(text)'") }
        return port
    }
}
