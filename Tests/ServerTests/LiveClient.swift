import Foundation
import HostTestSupport
import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOWebSocket

/// A real WebSocket client of `/ws`: it keeps every message it receives, in order, and how the
/// socket closed. With `paused`, it reads nothing until `resume()`. Like a well-behaved client, it
/// pings every `keepAlive` so that a slow test is not taken for an idle client; `nil` keeps it silent.
final class LiveClient: @unchecked Sendable {
    let received = TestLock<[[String: Any]]>([])
    let closeFrame = TestLock<WebSocketCloseFrame?>(nil)
    let failure = TestLock<(any Error)?>(nil)
    private let writer = TestLock<WebSocketOutboundWriter?>(nil)
    private let paused: TestLock<Bool>
    private var task: Task<Void, Never>!

    init(port: Int, token: String? = nil, query: String = "", paused: Bool = false, keepAlive: Duration? = .seconds(5)) {
        self.paused = TestLock(paused)
        var configuration = WebSocketClientConfiguration()
        if let token { configuration.additionalHeaders[.authorization] = "Bearer \(token)" }
        let received = self.received, closeFrame = self.closeFrame, failure = self.failure, writer = self.writer, pausedFlag = self.paused
        task = Task {
            do {
                let frame = try await WebSocketClient.connect(url: "ws://127.0.0.1:\(port)/ws\(query)", configuration: configuration,
                                                              logger: Logger(label: "test.ws")) { inbound, outbound, _ in
                    writer.withLock { $0 = outbound }
                    let pinger = keepAlive.map { interval in
                        Task {
                            // Ends with the connection: the write that fails is the one after it closed.
                            while (try? await Task.sleep(for: interval)) != nil {
                                do { try await outbound.write(.text(#"{"type":"ping"}"#)) } catch { break }
                            }
                        }
                    }
                    defer { pinger?.cancel() }
                    while pausedFlag.withLock({ $0 }) { try await Task.sleep(for: .milliseconds(20)) }
                    for try await message in inbound.messages(maxSize: 1 << 20) {
                        guard case .text(let text) = message,
                              let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else { continue }
                        received.withLock { $0.append(object) }
                    }
                }
                closeFrame.withLock { $0 = frame }
            } catch {
                failure.withLock { $0 = error }
            }
        }
    }

    func resume() { paused.withLock { $0 = false } }

    func send(_ message: [String: Any]) async throws {
        // Generous: the whole suite runs in parallel, and a loaded machine connects slowly.
        let deadline = ContinuousClock.now + .seconds(30)
        while writer.withLock({ $0 }) == nil {
            guard ContinuousClock.now < deadline, failure.withLock({ $0 }) == nil else {
                throw SessionHarness.Timeout(description: "not connected: \(String(describing: failure.withLock { $0 }))")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        let text = String(decoding: try JSONSerialization.data(withJSONObject: message), as: UTF8.self)
        try await writer.withLock { $0 }!.write(.text(text))
    }

    func subscribe(_ channel: String, after: Int? = nil) async throws {
        var message: [String: Any] = ["type": "subscribe", "channel": channel]
        if let after { message["after"] = after }
        try await send(message)
    }

    /// Waits until a received message satisfies `condition`, and returns it. Pings now and then,
    /// as a well-behaved client does, so a long wait is not taken for idling.
    @discardableResult
    func waitFor(_ what: String, timeout: Duration = .seconds(30), _ condition: ([String: Any]) -> Bool) async throws -> [String: Any] {
        let deadline = ContinuousClock.now + timeout
        var checked = 0
        var nextPing = ContinuousClock.now + .seconds(5)
        while ContinuousClock.now < deadline {
            let found: [String: Any]? = received.withLock { messages in
                defer { checked = messages.count }
                return messages[checked...].first(where: condition)
            }
            if let found { return found }
            if isClosed { break }
            if ContinuousClock.now > nextPing {
                try await send(["type": "ping"])
                nextPing = ContinuousClock.now + .seconds(5)
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw SessionHarness.Timeout(description: "no \(what) within \(timeout); closed: \(isClosed) \(String(describing: closeFrame.withLock { $0 }))")
    }

    var isClosed: Bool { closeFrame.withLock { $0 } != nil || failure.withLock { $0 } != nil }

    /// Waits for the socket to close; the close frame the server sent.
    func closed(timeout: Duration = .seconds(30)) async throws -> WebSocketCloseFrame? {
        let deadline = ContinuousClock.now + timeout
        while !isClosed, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(10)) }
        return closeFrame.withLock { $0 }
    }

    func events(_ channel: String) -> [[String: Any]] {
        received.withLock { $0.filter { $0["kind"] as? String == "event" && $0["channel"] as? String == channel } }
    }

    func stop() async {
        task.cancel()
        await task.value
    }
}
