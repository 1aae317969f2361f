import Foundation
#if canImport(Glibc)
import Glibc
#endif
@testable import Host
import HostTestSupport
import Logging
import Testing

/// The control socket's server, on a real Unix socket: stopping it never drops an answer it owes.
@Suite("control socket", .serialized)
struct ControlSocketTests {
    static let request: Data = {
        var line = try! ControlCoding.encoder().encode(ControlRequest.cancel(sessionID: "s-1"))
        line.append(UInt8(ascii: "\n"))
        return line
    }()

    static func answer(for request: ControlRequest) -> ControlResponse {
        guard case .cancel(let id) = request else { return ControlResponse(error: ControlFailure(InvalidRequest(field: "request", reason: "not a cancel"))) }
        return ControlResponse(error: ControlFailure(SessionNotFound(sessionID: id)))
    }

    /// How long `stop()` may wait here. The default drain time (10 s) is a bound for production; on
    /// a loaded test machine other tests can hold the cooperative pool that runs the handler for
    /// longer, and then `stop()` rightly gives up. These tests are about the order (answered before
    /// `stop()` returns), so the bound is set far out of the way.
    static let patience = Duration.seconds(600)

    /// What a non-blocking read finds on the client's end once the server has stopped.
    enum Found: Equatable {
        case answer(String)
        case closed
        case nothingYet
    }

    static func readNow(_ descriptor: Int32) -> Found {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if count > 0 {
                data.append(contentsOf: buffer[0..<count])
                continue
            }
            if count < 0, errno == EAGAIN || errno == EWOULDBLOCK {
                return data.isEmpty ? .nothingYet : .answer(String(decoding: data, as: UTF8.self))
            }
            return data.isEmpty ? .closed : .answer(String(decoding: data, as: UTF8.self))
        }
    }

    @Test("stop returns only once the request being handled has been answered")
    func stopWaitsForTheAnswer() async throws {
        let folder = try TemporaryDirectory("control")
        defer { folder.remove() }
        let path = folder.file("control.sock").path
        let started = AsyncFlag()
        let server = try ControlSocketServer(path: path, logger: Logger(label: "test"), drainTime: Self.patience) { request in
            started.set()
            try? await Task.sleep(for: .milliseconds(300))
            return Self.answer(for: request)
        }
        let client = try UnixSocket.connect(path: path)
        defer { close(client) }
        try UnixSocket.write(client, Self.request)
        try await started.wait(timeout: .seconds(10))
        await server.stop()

        guard case .answer(let line) = Self.readNow(client) else { Issue.record("no answer when stop returned"); return }
        #expect(line.hasSuffix("\n"))
        let response = try ControlCoding.decoder().decode(ControlResponse.self, from: Data(line.utf8.dropLast()))
        #expect(response.error?.code == "SESSION_NOT_FOUND")
        #expect(response.error?.id == "s-1")
        #expect(!FileManager.default.fileExists(atPath: path), "the socket file is removed")
        #expect(throws: ControlUnavailable.self) { try UnixSocket.connect(path: path) }
    }

    @Test("a request racing stop is answered in full, or refused without being carried out; never left hanging (300 rounds)")
    func requestRacesStop() async throws {
        let folder = try TemporaryDirectory("control")
        defer { folder.remove() }
        let path = folder.file("control.sock").path
        let carriedOut = Locked(0)
        var answered = 0, unavailable = 0, refused = 0
        for round in 0..<300 {
            let server = try ControlSocketServer(path: path, logger: Logger(label: "test"), drainTime: Self.patience) { request in
                carriedOut.withLock { $0 += 1 }
                return Self.answer(for: request)
            }
            let client = try UnixSocket.connect(path: path)
            defer { close(client) }
            try UnixSocket.write(client, Self.request)
            if round % 3 == 1 { await Task.yield() }
            if round % 3 == 2 { try await Task.sleep(for: .microseconds(200)) }
            await server.stop()
            switch Self.readNow(client) {
            case .answer(let line) where line.hasSuffix("\n") && line.contains("SESSION_NOT_FOUND"):
                answered += 1
            case .answer(let line) where line.hasSuffix("\n") && line.contains("UNAVAILABLE") && line.contains("shutting down"):
                unavailable += 1
            case .answer(let line):
                Issue.record("round \(round): not a whole answer: \(line)")
            case .closed:
                refused += 1
            case .nothingYet:
                Issue.record("round \(round): stop returned while the request was still unanswered")
            }
        }
        #expect(answered + unavailable + refused == 300)
        #expect(carriedOut.withLock { $0 } == answered, "only the requests answered were carried out")
    }

    @Test("a program started while a connection is open does not inherit it: the client sees the end as soon as the server closes it")
    func connectionsNotInherited() async throws {
        let folder = try TemporaryDirectory("control")
        defer { folder.remove() }
        let path = folder.file("control.sock").path
        let child = Locked<pid_t>(0)
        let server = try ControlSocketServer(path: path, logger: Logger(label: "test"), drainTime: Self.patience) { request in
            // As an agent's command or a driver's child starts while a request is served: spawned
            // without closing other descriptors, as posix_spawn does by default.
            var pid: pid_t = 0
            let arguments: [UnsafeMutablePointer<CChar>?] = [strdup("/bin/sleep"), strdup("30"), nil]
            defer { arguments.forEach { free($0) } }
            if posix_spawn(&pid, "/bin/sleep", nil, nil, arguments, environ) == 0 { child.withLock { $0 = pid } }
            return Self.answer(for: request)
        }
        let client = try UnixSocket.connect(path: path)
        defer { close(client) }
        try UnixSocket.write(client, Self.request)
        for _ in 0..<1000 where child.withLock({ $0 }) == 0 { try await Task.sleep(for: .milliseconds(10)) }
        await server.stop()
        let pid = child.withLock { $0 }
        defer {
            if pid > 0 {
                kill(pid, SIGKILL)
                var status: Int32 = 0
                waitpid(pid, &status, 0)
            }
        }
        #expect(pid > 0, "the program started")
        #expect(kill(pid, 0) == 0, "and still runs")
        // The answer, then the end of the connection: nothing else holds it open.
        guard case .answer(let line) = Self.readNow(client) else { Issue.record("no answer"); return }
        #expect(line.contains("SESSION_NOT_FOUND"))
        var byte: UInt8 = 0
        #expect(recv(client, &byte, 1, Int32(MSG_DONTWAIT)) == 0, "the connection ended (errno \(errno) means still open)")
    }

    @Test("a client that connects and sends nothing does not hold the stop up; stopping twice is harmless")
    func idleClient() async throws {
        let folder = try TemporaryDirectory("control")
        defer { folder.remove() }
        let path = folder.file("control.sock").path
        // A drain time far beyond the 60 s checked below: only cutting the idle client off ends the stop.
        let server = try ControlSocketServer(path: path, logger: Logger(label: "test"), drainTime: Self.patience) { Self.answer(for: $0) }
        let idle = try UnixSocket.connect(path: path)
        defer { close(idle) }
        let partial = try UnixSocket.connect(path: path)
        defer { close(partial) }
        try UnixSocket.write(partial, Self.request.prefix(10))
        try await Task.sleep(for: .milliseconds(50))  // both accepted and reading
        let started = ContinuousClock.now
        await server.stop()
        #expect(ContinuousClock.now - started < .seconds(60))
        for client in [idle, partial] {
            guard case .answer(let line) = Self.readNow(client) else { Issue.record("no answer"); continue }
            #expect(line.contains("UNAVAILABLE") && line.contains("shutting down"), "\(line)")
        }
        await server.stop()
        #expect(throws: ControlUnavailable.self) { try UnixSocket.connect(path: path) }
    }
}

/// Set once from any thread; awaited by a test.
private final class AsyncFlag: Sendable {
    private let isSet = Locked(false)

    func set() {
        isSet.withLock { $0 = true }
    }

    func wait(timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while !isSet.withLock({ $0 }) {
            guard ContinuousClock.now < deadline else { throw CancellationError() }
            try await Task.sleep(for: .milliseconds(2))
        }
    }
}
