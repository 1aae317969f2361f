import Foundation
import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOConcurrencyHelpers
import NIOSSL
import NIOWebSocket

extension FlywheelClient {
    /// Follows a session over `/ws`: every stored event after `after`, then live ones as they are
    /// stored, each handed to `body` in seq order, with no gap and no duplicate.
    ///
    /// A dropped connection (the server restarting, a network cut, a close because `body` read
    /// too slowly) is opened again and the subscription resumed from the last seq handed over.
    /// `body` runs on the socket's reading task: while it works, the client reads nothing more,
    /// and the server keeps the rest for it.
    ///
    /// - Returns: The session's final state (done, failed, cancelled), once the event that announces
    ///   it was handed over. With `untilEnded: false` it follows until cancelled.
    /// - Throws: `FlywheelAPIError` for what the server refuses (an unknown session, credentials
    ///   that stopped working); `FlywheelClientError` when the server cannot be reached after
    ///   `maxAttempts` tries in a row.
    @discardableResult
    public func follow(sessionId: String, after: Int64 = 0, untilEnded: Bool = true, maxAttempts: Int = 10,
                       _ body: @escaping @Sendable (Event) async throws -> Void) async throws -> String? {
        let state = NIOLockedValueBox(FollowState(last: after))
        let url = liveURL
        let channel = "session:\(sessionId)"
        var delay: Duration = .milliseconds(200)
        while true {
            try Task.checkCancellation()
            var configuration = WebSocketClientConfiguration()
            configuration.maxFrameSize = 1 << 24
            // A ping frame every 20 s that must be answered: a connection the network dropped
            // without a word is closed, and opened again, instead of waiting on TCP for minutes.
            configuration.autoPing = .enabled(timePeriod: .seconds(20))
            configuration.closeTimeout = .seconds(5)
            if let bearer = try await authorizer.bearer(using: self) {
                configuration.additionalHeaders[.authorization] = "Bearer \(bearer)"
            }
            state.withLockedValue {
                $0.subscribed = false
                $0.receivedSinceCheck = false
                $0.checkedEnded = false
            }
            var failure: (any Error)?
            do {
                let closed = try await WebSocketClient.connect(
                    url: url, configuration: configuration, tlsConfiguration: url.hasPrefix("wss:") ? .makeClientConfiguration() : nil,
                    logger: logger
                ) { inbound, outbound, _ in
                    let from = state.withLockedValue { $0.last }
                    try await outbound.write(.text(String(decoding: try Self.encoder.encode(Subscribe(channel: channel, after: from)), as: UTF8.self)))
                    // The server closes sockets that say nothing for a minute.
                    let pinger = Task {
                        while (try? await Task.sleep(for: .seconds(20))) != nil {
                            do { try await outbound.write(.text(#"{"type":"ping"}"#)) } catch { break }
                        }
                    }
                    defer { pinger.cancel() }
                    for try await message in inbound.messages(maxSize: 1 << 24) {
                        guard case .text(let text) = message else { continue }
                        guard let live = try? Self.decoder.decode(LiveMessage.self, from: Data(text.utf8)) else {
                            throw FollowStop(FlywheelClientError(.unexpectedResponse, "/ws sent a message that is not the API's: \(text.prefix(200))"))
                        }
                        switch live.kind {
                        case "subscribed":
                            state.withLockedValue { $0.subscribed = true }
                            if untilEnded, let final = try await self.endedWithNothingMore(sessionId, state: state) {
                                state.withLockedValue { $0.finalState = final }
                                return
                            }
                        case "heartbeat":
                            if untilEnded, let final = try await self.endedWithNothingMore(sessionId, state: state) {
                                state.withLockedValue { $0.finalState = final }
                                return
                            }
                        case "event":
                            guard live.channel == channel, let event = live.event else { continue }
                            guard event.seq > state.withLockedValue({ $0.last }) else { continue }
                            state.withLockedValue { $0.receivedSinceCheck = true }
                            do {
                                try await body(event)
                            } catch {
                                throw FollowStop(error)
                            }
                            state.withLockedValue { $0.last = event.seq }
                            if untilEnded, let final = event.finalState {
                                state.withLockedValue { $0.finalState = final }
                                return
                            }
                        case "error" where live.code == "FEED_FAILED" || live.code == "INTERNAL":
                            // The server's feed stopped: subscribing again resumes from our last seq.
                            throw FlywheelClientError(.unreachable, "the server's feed stopped (\(live.code ?? "")): \(live.message ?? "")")
                        case "error":
                            throw FollowStop(FlywheelAPIError(status: live.code == "SESSION_NOT_FOUND" ? 404 : 400, code: live.code ?? "ERROR",
                                                              message: live.message ?? "the server refused the subscription"))
                        default:
                            continue
                        }
                    }
                }
                if closed?.closeCode == .unknown(4001) {
                    // The credential the socket was opened with has ended: renew it (or learn that it
                    // cannot be) before reconnecting; a refusal ends the follow.
                    do {
                        _ = try await me()
                    } catch let refused as FlywheelAPIError where refused.status == 401 || refused.status == 403 {
                        throw FollowStop(refused)
                    } catch let local as FlywheelClientError where local.kind != .unreachable {
                        throw FollowStop(local)
                    }
                }
            } catch let stop as FollowStop {
                throw stop.error
            } catch is CancellationError {
                throw CancellationError()
            } catch let error as WebSocketClientError where error == .webSocketUpgradeFailed {
                // Refused at the upgrade: ask the HTTP API why, which also renews an expired token.
                // A refusal there ends the follow; a rate limit or an unreachable server is one more try.
                do {
                    _ = try await me()
                    failure = error
                } catch let refused as FlywheelAPIError where refused.status == 429 {
                    failure = refused
                    if let seconds = refused.retryAfter { delay = max(delay, .seconds(seconds)) }
                } catch let unreachable as FlywheelClientError where unreachable.kind == .unreachable {
                    failure = unreachable
                }
            } catch {
                if Task.isCancelled { throw CancellationError() }
                failure = error
            }
            let (final, subscribed) = state.withLockedValue { ($0.finalState, $0.subscribed) }
            if let final { return final }
            if subscribed {
                // It worked for a while, then the socket closed (1001: the server is stopping;
                // 4008: we read too slowly; no answer to a ping): open it again soon.
                state.withLockedValue { $0.attempts = 0 }
                delay = .milliseconds(200)
            } else {
                let attempts = state.withLockedValue { $0.attempts += 1; return $0.attempts }
                if attempts >= maxAttempts {
                    throw FlywheelClientError(.unreachable, "\(url): could not follow \(channel) after \(attempts) tries: \(Self.describe(failure ?? FlywheelClientError(.unreachable, "closed before subscribing")))")
                }
            }
            try await Task.sleep(for: delay)
            delay = min(delay * 2, .seconds(5))
        }
    }

    /// The session's final state when it has ended and nothing more will come: every event up to
    /// its last was handed over, or none came since the previous check (its history was removed
    /// by retention). Nil while it runs, or while its events are still arriving.
    private func endedWithNothingMore(_ sessionId: String, state: NIOLockedValueBox<FollowState>) async throws -> String? {
        let session = try await self.session(sessionId)
        guard session.hasEnded else { return nil }
        let (last, received, checkedBefore) = state.withLockedValue { state -> (Int64, Bool, Bool) in
            defer {
                state.receivedSinceCheck = false
                state.checkedEnded = true
            }
            return (state.last, state.receivedSinceCheck, state.checkedEnded)
        }
        if session.lastSeq <= last || (checkedBefore && !received) { return session.state }
        return nil
    }

    /// `/ws` on the server: `ws://` for `http://`, `wss://` for `https://`.
    var liveURL: String {
        (server.hasPrefix("https:") ? "wss:" + server.dropFirst("https:".count) : "ws:" + server.dropFirst("http:".count)) + "/ws"
    }

}

/// `subscribe` for a session channel, from a seq.
private struct Subscribe: Encodable {
    var type = "subscribe"
    var channel: String
    var after: Int64
}

/// Where a follow is, across reconnects.
private struct FollowState: Sendable {
    var last: Int64
    var subscribed = false
    var attempts = 0
    var finalState: String?
    /// Whether an event came since the last look at the session's state, and whether this
    /// connection looked already.
    var receivedSinceCheck = false
    var checkedEnded = false
}

/// An error that ends a follow, as opposed to one that a new connection may get past: the server
/// refused the subscription, the caller's `body` threw, or the server spoke something else.
private struct FollowStop: Error {
    let error: any Error
    init(_ error: any Error) { self.error = error }
}

/// A message of `/ws` (docs/api.md): `kind` says which members it has.
private struct LiveMessage: Decodable {
    var kind: String
    var channel: String?
    var sessionId: String?
    var seq: Int64?
    var type: String?
    var time: Date?
    var data: JSONValue?
    var code: String?
    var message: String?

    var event: Event? {
        guard let sessionId, let seq, let type, let time else { return nil }
        return Event(sessionId: sessionId, seq: seq, type: type, time: time, data: data ?? .null)
    }
}
