/// How `/ws` treats its clients.
public struct LiveSettings: Sendable {
    /// A `heartbeat` message this often.
    public var heartbeat: Duration = .seconds(15)
    /// A client that sends nothing (not even a ping) for this long is closed.
    public var idleTimeout: Duration = .seconds(60)
    /// Messages waiting for one client, at most.
    public var queueCapacity = 1024
    /// A client whose queue stays full this long (it stopped reading) is closed.
    public var stallTimeout: Duration = .seconds(10)
    /// Once the server closes a client, how long the close frame may take to go out before the
    /// connection is dropped without it.
    public var closeGrace: Duration = .seconds(5)
    /// Channels one connection may follow at once.
    public var maxSubscriptions = 100

    public init() {}
}
