import Foundation
import Logging
import ServiceLifecycle

/// An owning gateway's long-running part, as a `Service` for a `ServiceGroup`: it recovers what a
/// previous host left running, answers control requests from other processes on the control
/// socket, schedules sessions until shutdown, deletes refresh tokens of long-ended sign-ins, and
/// prunes the history of long-ended sessions when retention is configured. On graceful shutdown it
/// stops taking work and stops every run (checkpointed and queued again where the driver can
/// resume, failed with the reason where it cannot); every event is committed before it returns.
public struct GatewayService: Service {
    let gateway: Gateway
    let scheduler: SessionScheduler

    public func run() async throws {
        let logger = gateway.logger
        let catalog = gateway.plugins.catalog
        _ = try await SessionRecovery.recover(store: gateway.store, log: gateway.log, catalog: catalog, logger: logger)
        let handler = ControlRequestHandler(gateway: gateway)
        let server = try ControlSocketServer(path: ControlSocket.path(in: gateway.configuration.dataDirectory), logger: logger) {
            await handler.handle($0)
        }
        _ = gateway.readiness.setOnce()
        let scheduler = self.scheduler
        let retention = gateway.configuration.historyRetentionDays.map { days in
            HistoryRetention(store: gateway.store, age: .milliseconds(Int64(days * 86_400_000)), logger: logger)
        }
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { group in
                if let retention { group.addTask { await retention.run() } }
                group.addTask { await Self.pruneRefreshTokens(gateway.people, logger: logger) }
                await scheduler.run()
                group.cancelAll()
            }
        } onGracefulShutdown: {
            logger.notice("shutting down: no new sessions start; running ones checkpoint or end")
            scheduler.beginShutdown()
        }
        // Nothing from the server's start to here throws: every way out stops it.
        await server.stop()
    }

    /// Ended and expired sign-ins' refresh tokens go, at start and hourly, until cancelled.
    static func pruneRefreshTokens(_ people: PeopleService, logger: Logger) async {
        await repeatUntilCancelled(every: .seconds(3600)) {
            do {
                let pruned = try await people.pruneRefreshTokens()
                if pruned > 0 { logger.info("deleted expired and ended refresh tokens", metadata: ["count": .stringConvertible(pruned)]) }
            } catch {
                logger.error("cannot delete expired refresh tokens", metadata: ["error": .string("\(error)")])
            }
        }
    }
}
