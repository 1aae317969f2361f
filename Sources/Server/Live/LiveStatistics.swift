import NIOConcurrencyHelpers
import NIOWebSocket
import ServiceLifecycle

/// The clients of `/ws`: how many are connected and how many the server closed, by reason (for
/// metrics and tests), and a way to close them all (for shutdown).
public final class LiveStatistics: Sendable {
    public struct Counts: Sendable, Equatable {
        public var connected = 0
        /// Closed for not reading (4008).
        public var closedSlow = 0
        /// Closed for sending nothing (4000).
        public var closedIdle = 0
        /// Closed because their credential ended (4001).
        public var closedCredential = 0
        /// Dropped without their close frame: they read nothing at all.
        public var dropped = 0
    }

    private let counts = NIOLockedValueBox(Counts())
    private let connections = NIOLockedValueBox<[ObjectIdentifier: LiveConnection]>([:])

    public init() {}

    public var current: Counts { counts.withLockedValue { $0 } }

    func update(_ change: (inout Counts) -> Void) {
        counts.withLockedValue { change(&$0) }
    }

    func register(_ connection: LiveConnection) {
        connections.withLockedValue { $0[ObjectIdentifier(connection)] = connection }
        update { $0.connected += 1 }
    }

    func unregister(_ connection: LiveConnection) {
        connections.withLockedValue { $0[ObjectIdentifier(connection)] = nil }
        update { $0.connected -= 1 }
    }

    /// Tells every client the server is going away (1001) and waits, up to `timeout`, until all
    /// have gone.
    func closeAll(timeout: Duration) async {
        for connection in connections.withLockedValue({ Array($0.values) }) {
            connection.close(code: .goingAway, reason: "the server is shutting down; reconnect and resume from your last seq")
        }
        let deadline = ContinuousClock.now + timeout
        while connections.withLockedValue({ !$0.isEmpty }), ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// Closes the `/ws` clients with 1001 when the server shuts down. List it after the application in
/// the `ServiceGroup`, so it runs first on shutdown: the WebSocket library itself would close
/// them with 1000 when the server stops.
public struct LiveShutdownService: Service {
    let statistics: LiveStatistics
    let timeout: Duration

    public init(statistics: LiveStatistics, timeout: Duration = .seconds(5)) {
        self.statistics = statistics
        self.timeout = timeout
    }

    public func run() async throws {
        try? await gracefulShutdown()
        await statistics.closeAll(timeout: timeout)
    }
}
