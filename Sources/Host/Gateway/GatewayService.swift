import Foundation
import Logging
import ServiceLifecycle

/// An owning gateway's long-running part, as a `Service` for a `ServiceGroup`: it recovers what a
/// previous host left running, answers control requests from other processes on the control
/// socket, and schedules sessions until shutdown. On graceful shutdown it stops taking work and
/// stops every run (checkpointed and queued again where the driver can resume, failed with the
/// reason where it cannot); every event is committed before it returns.
public struct GatewayService: Service {
    let gateway: Gateway
    let scheduler: SessionScheduler

    public func run() async throws {
        let logger = gateway.logger
        let catalog = gateway.plugins.catalog
        _ = try await SessionRecovery.recover(store: gateway.store, log: gateway.log, catalog: catalog, logger: logger)
        let server = try ControlSocketServer(path: ControlSocket.path(in: gateway.configuration.dataDirectory),
                                             handler: ControlRequestHandler(gateway: gateway), logger: logger)
        defer { server.stop() }
        let scheduler = self.scheduler
        await withGracefulShutdownHandler {
            await scheduler.run()
        } onGracefulShutdown: {
            logger.notice("shutting down: no new sessions start; running ones checkpoint or end")
            scheduler.beginShutdown()
        }
    }
}
