import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// Serves the control socket. Accepting and each connection's blocking reads and writes run on
/// threads of their own, never on Swift's cooperative pool; requests are carried out by async code.
///
/// `stop()` waits for the requests already taken to be answered: a process that exits right after
/// (`sessions run` once its session is cancelled from another process) must not leave the caller
/// without the answer to the request that ended it. A connection still sending its request when
/// the server stops is cut off, and a request read after that is answered `UNAVAILABLE` without
/// being carried out, so an idle client cannot hold the stop up.
final class ControlSocketServer: Sendable {
    private let descriptor: Int32
    private let path: String
    private let state = Locked(State())
    /// How long `stop()` waits for requests in flight.
    private let drainTime: Duration

    private struct State {
        var stopping = false
        /// Threads still at work: the accepting one until it returns, and one per connection until
        /// its answer is written.
        var busy = 1
        /// Connections still reading their request. Each leaves the set before it is closed, so the
        /// numbers here are always open.
        var reading: Set<Int32> = []
    }

    /// Largest request line accepted.
    static let maximumRequest = 64 * 1024

    init(path: String, logger: Logger, drainTime: Duration = .seconds(10),
         handle: @escaping @Sendable (ControlRequest) async -> ControlResponse) throws {
        self.path = path
        self.drainTime = drainTime
        descriptor = try UnixSocket.listen(path: path)
        let descriptor = self.descriptor, state = self.state
        Thread.detachNewThread {
            defer {
                close(descriptor)  // Only once accept() has returned, so the number cannot be reused under it.
                state.withLock { $0.busy -= 1 }
            }
            while true {
                // Close-on-exec from the start: a process this one spawns meanwhile (an agent's
                // command, a driver's child) must not inherit the connection, which would keep it
                // open after it is answered or refused here.
                let connection = Self.acceptCloseOnExec(descriptor)
                if connection < 0 {
                    let failure = errno
                    if state.withLock({ $0.stopping }) { return }  // Shut down by stop().
                    if failure == EINTR || failure == ECONNABORTED { continue }
                    // Out of descriptors or memory, say: the socket still stands, so try again shortly.
                    logger.error("the control socket cannot accept a connection; trying again",
                                 metadata: ["error": .string(String(cString: strerror(failure)))])
                    usleep(100_000)
                    continue
                }
                let taken = state.withLock { state -> Bool in
                    guard !state.stopping else { return false }
                    state.busy += 1
                    state.reading.insert(connection)
                    return true
                }
                guard taken else {
                    close(connection)  // Queued before the stop: refused, never carried out.
                    continue
                }
                Thread.detachNewThread {
                    Self.serve(connection, state: state, logger: logger, handle: handle)
                    close(connection)
                    state.withLock { $0.busy -= 1 }
                }
            }
        }
    }

    /// Stops accepting, removes the socket file, cuts off connections still sending their request,
    /// and returns once every request already read has been answered (or after `drainTime`, for a
    /// request stuck in its handler). Calling it again only waits again.
    func stop() async {
        let descriptor = self.descriptor
        state.withLock { state in
            guard !state.stopping else { return }
            state.stopping = true
            // Under the lock: the listening socket is closed only after `stopping` is seen, and a
            // reading connection only after it left `reading`.
            shutdown(descriptor, Int32(SHUT_RDWR))
            for connection in state.reading { shutdown(connection, Int32(SHUT_RD)) }
            unlink(path)
        }
        let state = self.state, drainTime = self.drainTime
        // In a task of its own so that a cancelled caller still waits instead of spinning.
        await Task {
            let deadline = ContinuousClock.now + drainTime
            while state.withLock({ $0.busy }) > 0, ContinuousClock.now < deadline {
                try? await Task.sleep(for: .milliseconds(5))
            }
        }.value
    }

    private static func serve(_ connection: Int32, state: Locked<State>, logger: Logger,
                              handle: @escaping @Sendable (ControlRequest) async -> ControlResponse) {
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(connection, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let line = Result { try UnixSocket.readLine(connection, limit: maximumRequest) }
        let stopping = state.withLock { state in
            state.reading.remove(connection)
            return state.stopping
        }
        let response: ControlResponse
        do {
            if stopping {
                // Cut off while reading, or read just as the stop began: not carried out.
                response = ControlResponse(error: ControlFailure(ControlUnavailable(
                    reason: "the flywheel process that owns the data directory is shutting down; the request was not carried out")))
            } else {
                let request = try ControlCoding.decoder().decode(ControlRequest.self, from: try line.get())
                response = Self.wait { await handle(request) }
            }
        } catch {
            response = ControlResponse(error: ControlFailure(InvalidRequest(field: "request", reason: "unreadable control request: \(error)")))
        }
        do {
            var data = try ControlCoding.encoder().encode(response)
            data.append(UInt8(ascii: "\n"))
            try UnixSocket.write(connection, data)
        } catch {
            logger.warning("cannot answer a control request", metadata: ["error": .string("\(error)")])
        }
    }

    /// glibc's accept4 (a GNU extension Swift does not see): the connection is close-on-exec from the start.
    private typealias Accept4 = @convention(c) (Int32, UnsafeMutablePointer<sockaddr>?, UnsafeMutablePointer<socklen_t>?, Int32) -> Int32
    private static let accept4Function: Accept4? = dlsym(nil, "accept4").map { unsafeBitCast($0, to: Accept4.self) }

    private static func acceptCloseOnExec(_ descriptor: Int32) -> Int32 {
        if let accept4Function { return accept4Function(descriptor, nil, nil, Int32(SOCK_CLOEXEC.rawValue)) }
        // Without accept4: not atomic, but close-on-exec before this thread does anything else.
        let connection = accept(descriptor, nil, nil)
        if connection >= 0 { _ = fcntl(connection, F_SETFD, FD_CLOEXEC) }
        return connection
    }

    /// Runs async work from this plain thread and waits for it (this thread is not the pool's).
    private static func wait<T: Sendable>(_ body: @escaping @Sendable () async -> T) -> T {
        let result = ResultBox<T>()
        let done = DispatchSemaphore(value: 0)
        Task {
            result.value = await body()
            done.signal()
        }
        done.wait()
        return result.value!
    }
}

/// A value handed from a task to the thread waiting for it; the semaphore orders the accesses.
private final class ResultBox<T>: @unchecked Sendable {
    var value: T?
}

/// Sends control requests to the owning process.
struct ControlClient: Sendable {
    let socket: String
    /// Why this process could not own the data directory itself, said when no owner answers either.
    var whenNoOwner: String?

    func session(_ request: ControlRequest) async throws -> SessionRecord {
        let response = try await send(request)
        guard let session = response.session else { throw ControlUnavailable(reason: "the owning process answered without a session") }
        return session
    }

    func decision(_ request: ControlRequest) async throws -> CommandDecisionRecord {
        let response = try await send(request)
        guard let decision = response.decision else { throw ControlUnavailable(reason: "the owning process answered without a decision") }
        return decision
    }

    private func send(_ request: ControlRequest) async throws -> ControlResponse {
        var encoded = try ControlCoding.encoder().encode(request)
        encoded.append(UInt8(ascii: "\n"))
        let line = encoded, socket = self.socket
        if let whenNoOwner, !FileManager.default.fileExists(atPath: socket) {
            throw ControlUnavailable(reason: "no flywheel process owns the data directory, and this one cannot: \(whenNoOwner)")
        }
        // Blocking socket calls run on a thread of their own.
        let answer: Data = try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread {
                continuation.resume(with: Result {
                    let descriptor = try UnixSocket.connect(path: socket)
                    defer { close(descriptor) }
                    var timeout = timeval(tv_sec: 60, tv_usec: 0)
                    setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                    try UnixSocket.write(descriptor, line)
                    do {
                        return try UnixSocket.readLine(descriptor, limit: 16 * 1024 * 1024)
                    } catch let failure as UnixSocket.Failure {
                        throw ControlUnavailable(reason: "the flywheel process that owns the data directory did not answer: \(failure)")
                    }
                })
            }
        }
        let response = try ControlCoding.decoder().decode(ControlResponse.self, from: answer)
        if let failure = response.error { throw failure.error }
        return response
    }
}

/// The few socket calls the control channel needs; descriptors never leave its callers.
enum UnixSocket {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func listen(path: String) throws -> Int32 {
        let descriptor = try make(path)
        unlink(path)  // A socket file left by a host that died; the host lock says nobody else owns it.
        let bound = withAddress(path) { address, length in bind(descriptor, address, length) }
        guard bound == 0, chmod(path, 0o600) == 0, Glibc.listen(descriptor, 16) == 0 else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw Failure(description: "cannot listen on the control socket \(path): \(reason)")
        }
        return descriptor
    }

    static func connect(path: String) throws -> Int32 {
        let descriptor = try make(path)
        let connected = withAddress(path) { address, length in Glibc.connect(descriptor, address, length) }
        guard connected == 0 else {
            let reason = String(cString: strerror(errno))
            close(descriptor)
            throw ControlUnavailable(reason: "another flywheel process owns this data directory, but its control socket \(path) "
                + "does not answer (\(reason))")
        }
        return descriptor
    }

    static func readLine(_ descriptor: Int32, limit: Int) throws -> Data {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else {
                throw Failure(description: count == 0 ? "the connection closed before a whole line arrived" : String(cString: strerror(errno)))
            }
            if let newline = buffer[0..<count].firstIndex(of: UInt8(ascii: "\n")) {
                data.append(contentsOf: buffer[0..<newline])
                return data
            }
            data.append(contentsOf: buffer[0..<count])
            guard data.count <= limit else { throw Failure(description: "a line longer than \(limit) bytes") }
        }
    }

    static func write(_ descriptor: Int32, _ data: Data) throws {
        var offset = 0
        while offset < data.count {
            let written = data.withUnsafeBytes { send(descriptor, $0.baseAddress! + offset, data.count - offset, Int32(MSG_NOSIGNAL)) }
            if written < 0, errno == EINTR { continue }
            guard written > 0 else { throw Failure(description: String(cString: strerror(errno))) }
            offset += written
        }
    }

    private static func make(_ path: String) throws -> Int32 {
        guard path.utf8.count < MemoryLayout.size(ofValue: sockaddr_un().sun_path) else {
            throw Failure(description: "the control socket path \(path) is too long for a Unix socket; use a shorter data directory path")
        }
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw Failure(description: "cannot create a socket: \(String(cString: strerror(errno)))") }
        return descriptor
    }

    private static func withAddress<R>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in path.utf8.enumerated() { raw[index] = byte }
        }
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }
}
