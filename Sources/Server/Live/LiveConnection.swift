import Foundation
import Host
import HummingbirdWebSocket
import Logging
import NIOConcurrencyHelpers
import NIOWebSocket
import ServiceLifecycle

/// One client of `/ws`: reads its messages, follows the channels it subscribes to, and writes
/// events, heartbeats and answers through a bounded queue. Closes it with a code and a reason
/// when it idles, stops reading, or the server shuts down (1001).
final class LiveConnection: Sendable {
    let events: EventService
    let settings: LiveSettings
    let statistics: LiveStatistics
    let encoded: EncodedEvents
    let logger: Logger
    /// Why the credential the socket was opened with no longer holds (nil while it does); asked
    /// once a heartbeat period.
    typealias CredentialCheck = @Sendable () async throws -> String?
    let credentialProblem: CredentialCheck
    private let queue: OutboundQueue
    private let state = NIOLockedValueBox(State())

    private struct State {
        var subscriptions: [String: Task<Void, Never>] = [:]
        var lastHeard = ContinuousClock.now
        /// Why the server closes the socket, once it decided to, and when.
        var closing: (code: WebSocketErrorCode, reason: String)?
        var closingSince: ContinuousClock.Instant?
    }

    /// A client that did not take its close frame within the grace period: dropped.
    struct Unresponsive: Error {}
    /// The connection's reading side ended: the other tasks of the connection stop.
    struct Ended: Error {}

    /// Close codes of our own (4000-4999 are for applications): the client may reconnect and
    /// resume each channel from its last seq.
    static let slowConsumer = WebSocketErrorCode(codeNumber: 4008)
    static let idle = WebSocketErrorCode(codeNumber: 4000)
    /// The credential the socket was opened with no longer holds: sign in again before reconnecting.
    static let credentialEnded = WebSocketErrorCode(codeNumber: 4001)

    init(events: EventService, settings: LiveSettings, statistics: LiveStatistics, encoded: EncodedEvents,
         credentialProblem: @escaping CredentialCheck = { nil }, logger: Logger) {
        self.events = events
        self.credentialProblem = credentialProblem
        self.encoded = encoded
        self.settings = settings
        self.statistics = statistics
        self.logger = logger
        queue = OutboundQueue(capacity: settings.queueCapacity)
    }

    func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async {
        statistics.register(self)
        defer { statistics.unregister(self) }
        await withGracefulShutdownHandler {
            do {
                try await withThrowingDiscardingTaskGroup { group in
                    group.addTask { await self.write(to: outbound) }
                    group.addTask { try await self.watch() }
                    group.addTask { await self.checkCredential() }
                    group.addTask {
                        await self.read(inbound)
                        // The client is gone (or took our close frame): end the other tasks as well.
                        throw Ended()
                    }
                }
            } catch is Ended {
            } catch {
                // Its writes were stuck behind a client that reads nothing: cancelling them let the
                // connection end; the server closes the socket.
                logger.notice("dropped a websocket client that did not take its close frame")
                statistics.update { $0.dropped += 1 }
            }
        } onGracefulShutdown: {
            self.close(code: .goingAway, reason: "the server is shutting down; reconnect and resume from your last seq")
        }
        let subscriptions = state.withLockedValue { state in
            let tasks = Array(state.subscriptions.values)
            state.subscriptions = [:]
            return tasks
        }
        for task in subscriptions {
            task.cancel()
            await task.value
        }
    }

    private func read(_ inbound: WebSocketInboundStream) async {
        do {
            for try await message in inbound.messages(maxSize: 64 * 1024) {
                state.withLockedValue { $0.lastHeard = .now }
                guard case .text(let text) = message else {
                    queue.offer(ServerMessage.error("INVALID_MESSAGE", "messages are JSON text"))
                    continue
                }
                await handle(text)
            }
        } catch {
            logger.debug("websocket read ended", metadata: ["error": .string("\(error)")])
        }
        end(code: .normalClosure, reason: "closed")
    }

    /// Closes the connection from outside (shutdown): what is queued goes out, then the close frame.
    func close(code: WebSocketErrorCode, reason: String) {
        end(code: code, reason: reason)
    }

    /// Decides to close: the queue ends, the writer sends what is left and then the close frame.
    private func end(code: WebSocketErrorCode, reason: String) {
        let first = state.withLockedValue { state -> Bool in
            guard state.closing == nil else { return false }
            state.closing = (code, reason)
            state.closingSince = .now
            return true
        }
        if first { queue.close() }
    }

    private func write(to outbound: WebSocketOutboundWriter) async {
        do {
            while let message = await queue.next() {
                // The buffer as it is: event messages share one buffer among all their clients.
                try await outbound.write(.custom(WebSocketFrame(fin: true, opcode: .text, data: message)))
            }
            let closing = state.withLockedValue { $0.closing } ?? (.normalClosure, "closed")
            try await outbound.close(closing.code, reason: closing.reason)
        } catch {
            logger.debug("websocket write ended", metadata: ["error": .string("\(error)")])
            if Task.isCancelled, let closing = state.withLockedValue({ $0.closing }) {
                // Dropped (``Unresponsive``): the close frame cannot go out to a client that reads
                // nothing. Starting the close anyway (in this cancelled task its write gives up at
                // once) moves the WebSocket library to its closing state, so when `run` returns it
                // closes the socket after its close timeout; otherwise it would try to write a close
                // frame of its own and wait for the client to read, which may be never.
                do {
                    try await outbound.close(closing.code, reason: closing.reason)
                } catch {
                    logger.debug("websocket close frame not sent to a dropped client", metadata: ["error": .string("\(error)")])
                }
            }
            end(code: .normalClosure, reason: "closed")
        }
    }

    /// Heartbeats, and the two reasons the server closes a client on its own. Once the connection is
    /// closing, its writer has `closeGrace` to get the close frame out; a client that reads nothing
    /// never lets it, and then the connection is dropped (``Unresponsive``).
    private func watch() async throws {
        let tick = min(settings.heartbeat, settings.idleTimeout, settings.stallTimeout, settings.closeGrace) / 2
        var nextHeartbeat = ContinuousClock.now + settings.heartbeat
        while !Task.isCancelled {
            do { try await Task.sleep(for: tick) } catch { return }
            let now = ContinuousClock.now
            if let since = state.withLockedValue({ $0.closingSince }) {
                if now - since >= settings.closeGrace { throw Unresponsive() }
                continue
            }
            if let stalled = queue.stalledSince, now - stalled >= settings.stallTimeout {
                logger.notice("closing a websocket client that stopped reading")
                statistics.update { $0.closedSlow += 1 }
                end(code: Self.slowConsumer, reason: "send queue full for \(settings.stallTimeout): reconnect and resume from your last seq")
                continue
            }
            if now - state.withLockedValue({ $0.lastHeard }) >= settings.idleTimeout {
                statistics.update { $0.closedIdle += 1 }
                end(code: Self.idle, reason: "no message for \(settings.idleTimeout): send a ping to stay connected")
                continue
            }
            if now >= nextHeartbeat {
                queue.offer(ServerMessage.heartbeat)
                nextHeartbeat = now + settings.heartbeat
            }
        }
    }

    /// Once a heartbeat period (with a little jitter, so sockets opened together do not ask the
    /// store together), whether the credential the socket was opened with still holds; closes it
    /// with 4001 once it does not. A task of its own, so a slow store never holds up the heartbeats
    /// and the close, idle and stall handling of ``watch()``.
    private func checkCredential() async {
        while !Task.isCancelled {
            let period = settings.heartbeat
            do { try await Task.sleep(for: period + period * Double.random(in: 0..<0.2)) } catch { return }
            if state.withLockedValue({ $0.closing != nil }) { return }
            let problem: String?
            do {
                problem = try await credentialProblem()
            } catch {
                // The store could not be asked: keep the socket, ask again next time.
                logger.warning("could not check a websocket client's credential", metadata: ["error": "\(error)"])
                problem = nil
            }
            if let problem {
                statistics.update { $0.closedCredential += 1 }
                end(code: Self.credentialEnded, reason: "\(problem): sign in again")
                return
            }
        }
    }

    private func handle(_ text: String) async {
        guard let message = try? JSONDecoder().decode(ClientMessage.self, from: Data(text.utf8)) else {
            queue.offer(ServerMessage.error("INVALID_MESSAGE", "a message is a JSON object with a string 'type'"))
            return
        }
        switch message.type {
        case "ping":
            queue.offer(ServerMessage.pong)
        case "subscribe":
            await subscribe(message)
        case "unsubscribe":
            guard let channel = message.channel else {
                queue.offer(ServerMessage.error("INVALID_MESSAGE", "unsubscribe needs a 'channel'"))
                return
            }
            let task = state.withLockedValue { $0.subscriptions.removeValue(forKey: channel) }
            task?.cancel()
            queue.offer(task == nil ? ServerMessage.error("NOT_SUBSCRIBED", "not subscribed to \(channel)", channel: channel)
                : ServerMessage.unsubscribed(channel))
        default:
            queue.offer(ServerMessage.error("INVALID_MESSAGE", "unknown message type '\(message.type)' (subscribe, unsubscribe, ping)"))
        }
    }

    private func subscribe(_ message: ClientMessage) async {
        guard let channel = message.channel else {
            queue.offer(ServerMessage.error("INVALID_MESSAGE", "subscribe needs a 'channel': session:<id>, fleet or fleet:states"))
            return
        }
        if let after = message.after, after < 0 {
            queue.offer(ServerMessage.error("INVALID_MESSAGE", "'after' must be a seq, 0 or more", channel: channel))
            return
        }
        let refusal: String? = state.withLockedValue { state in
            if state.subscriptions[channel] != nil { return ServerMessage.error("ALREADY_SUBSCRIBED", "already subscribed to \(channel)", channel: channel) }
            if state.subscriptions.count >= settings.maxSubscriptions {
                return ServerMessage.error("TOO_MANY_SUBSCRIPTIONS", "at most \(settings.maxSubscriptions) channels per connection", channel: channel)
            }
            return nil
        }
        if let refusal {
            queue.offer(refusal)
            return
        }
        let follow: @Sendable () async -> Void
        if LiveChannel.isFleet(channel) {
            let feed = events.subscribeFleet()
            follow = { await self.follow(fleet: feed, channel: channel) }
        } else if channel.hasPrefix("session:") {
            let sessionID = String(channel.dropFirst("session:".count))
            let feed: SessionEventFeed
            do {
                feed = try await events.subscribe(sessionID: sessionID, after: message.after ?? 0)
            } catch is SessionNotFound {
                queue.offer(ServerMessage.error("SESSION_NOT_FOUND", "session \(sessionID) not found", channel: channel))
                return
            } catch {
                logger.error("cannot subscribe", metadata: ["error": .string("\(error)"), "flywheel.session.id": .string(sessionID)])
                queue.offer(ServerMessage.error("INTERNAL", "cannot subscribe now", channel: channel))
                return
            }
            follow = { await self.follow(session: feed, channel: channel) }
        } else {
            queue.offer(ServerMessage.error("INVALID_MESSAGE", "unknown channel '\(channel)': session:<id>, fleet or fleet:states", channel: channel))
            return
        }
        // `subscribed` goes out before the channel's first event.
        queue.offer(ServerMessage.subscribed(channel, after: LiveChannel.isFleet(channel) ? nil : message.after ?? 0))
        let task = Task { await follow() }
        let duplicate = state.withLockedValue { state -> Bool in
            if state.closing != nil || state.subscriptions[channel] != nil { return true }
            state.subscriptions[channel] = task
            return false
        }
        if duplicate { task.cancel() }
    }

    private func follow(session feed: SessionEventFeed, channel: String) async {
        do {
            for try await event in feed {
                guard await queue.push(encoded.message(for: event, channel: channel)) else { return }
            }
        } catch is CancellationError {
        } catch {
            logger.error("session feed failed", metadata: ["error": .string("\(error)"), "flywheel.channel": .string(channel)])
            queue.offer(ServerMessage.error("FEED_FAILED", "the channel stopped; subscribe again from your last seq", channel: channel))
        }
    }

    /// `fleet`, or `fleet:states` (state changes only, dropped here before they are encoded).
    private func follow(fleet feed: FleetEventFeed, channel: String) async {
        let statesOnly = channel == LiveChannel.fleetStates
        for await item in feed {
            switch item {
            case .event(let event):
                if statesOnly, event.type != "host.session.state" { continue }
                guard await queue.push(encoded.message(for: event, channel: channel)) else { return }
            case .fellBehind:
                state.withLockedValue { _ = $0.subscriptions.removeValue(forKey: channel) }
                queue.offer(ServerMessage.error("FELL_BEHIND", "the \(channel) channel dropped you for reading too slowly; subscribe again, and follow sessions by seq",
                                                channel: channel))
                return
            }
        }
    }
}
