#if canImport(Glibc)
import Glibc
#endif
import Foundation
import PluginKit

/// Answers the guard hook of a CLI agent running in the pane. The agent's `PreToolUse` hook
/// (`flywheel dcg hook` with `FLYWHEEL_HOOK_SOCKET` set) sends each Bash command here as one JSON
/// line, `{"command": "…"}`; the command goes to the gateway as a decision-only request, so it is
/// judged by the policy in force, recorded with the session and, under `ask`, held for an operator;
/// the answer goes back as one line, `{"decision": "allow"}` or `{"decision": "deny", "reason": "…"}`.
/// Anything that goes wrong is answered deny, or not at all (the hook then blocks the call).
final class HookRelay: @unchecked Sendable {
    private let listener: Int32
    private let run: DriverRun
    private let emit: @Sendable (DriverEvent) -> Void
    /// Left when the accept loop has ended.
    private let acceptEnded = DispatchSemaphore(value: 0)
    /// Threads reading a request; `stop` waits for them (not for the gateway's answers).
    private let readers = DispatchGroup()
    private let state = Locked((stopping: false, open: [ObjectIdentifier: Connection]()))
    static let requestLimit = 1 << 20

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// One hook call's socket. The descriptor is closed when the last holder lets go (the reader,
    /// the pending answer), never while another thread may still use its number.
    final class Connection: @unchecked Sendable {
        let descriptor: Int32
        private let answered = Locked(false)

        init(_ descriptor: Int32) { self.descriptor = descriptor }

        deinit { close(descriptor) }

        /// True the first time only: one answer per call.
        func claimAnswer() -> Bool { answered.withLock { done in defer { done = true }; return !done } }

        /// Wakes a blocked read or write; the descriptor stays open until deinit.
        func shutDown() { Glibc.shutdown(descriptor, Int32(SHUT_RDWR)) }
    }

    init(path: String, run: DriverRun, emit: @escaping @Sendable (DriverEvent) -> Void) throws {
        self.run = run
        self.emit = emit
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw Failure(description: "the socket path is longer than a Unix socket allows (\(bytes.count) bytes); choose a shorter state_directory")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        unlink(path)
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, chmod(path, 0o600) == 0, listen(descriptor, 64) == 0 else {
            let message = String(cString: strerror(errno))
            close(descriptor)
            throw Failure(description: "\(path): \(message)")
        }
        listener = descriptor
        let thread = Thread { [self] in acceptLoop() }
        thread.name = "flywheel-tmux-hook"
        thread.start()
    }

    private func acceptLoop() {
        defer { acceptEnded.signal() }
        while true {
            let descriptor = accept(listener, nil, nil)
            if state.withLock({ $0.stopping }) {
                if descriptor >= 0 { close(descriptor) }
                return
            }
            if descriptor < 0 {
                // A passing failure (out of descriptors, an aborted connection) must not end the
                // loop: a hook whose connect is never accepted waits until Claude Code gives up on it,
                // and a hook that times out lets the call through.
                if errno != EINTR { usleep(50_000) }
                continue
            }
            _ = fcntl(descriptor, F_SETFD, FD_CLOEXEC)
            let connection = Connection(descriptor)
            state.withLock { $0.open[ObjectIdentifier(connection)] = connection }
            readers.enter()
            let thread = Thread { [self] in
                serve(connection)
                readers.leave()
            }
            thread.name = "flywheel-tmux-hook-call"
            thread.start()
        }
    }

    /// Reads one request line and hands the command to the gateway; the answer is written when it comes.
    private func serve(_ connection: Connection) {
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(connection.descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(connection.descriptor, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var request: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while request.count <= Self.requestLimit, !request.contains(0x0A) {
            let count = buffer.withUnsafeMutableBytes { recv(connection.descriptor, $0.baseAddress, $0.count, 0) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            request.append(contentsOf: buffer[0..<count])
        }
        guard request.count <= Self.requestLimit,
              let object = (try? JSONSerialization.jsonObject(with: Data(request.prefix { $0 != 0x0A }))) as? [String: Any],
              let command = object["command"] as? String, !command.isEmpty else {
            answer(connection, decision: "deny", reason: "the hook's request is not {\"command\": \"…\"}")
            return
        }
        // Once stopping, nothing more goes to the run: its instance may be on its way out.
        guard !state.withLock({ $0.stopping }) else {
            answer(connection, decision: "deny", reason: "the gateway session has ended")
            return
        }
        let accepted = run.requestCommand(command, execute: false) { [self] result in
            guard let result else {
                answer(connection, decision: "deny", reason: "the gateway session has ended")
                return
            }
            let allowed = result.delegated == true
            let why = [result.ruleId, result.reason].compactMap { $0 }.joined(separator: ": ")
            emit(.status("guard hook: \(allowed ? "allowed" : "denied") \(command)\(why.isEmpty ? "" : " (\(why))")"))
            answer(connection, decision: allowed ? "allow" : "deny", reason: allowed ? nil : (why.isEmpty ? "denied by the gateway's policy" : why))
        }
        if !accepted { answer(connection, decision: "deny", reason: "the gateway did not accept the command for a decision") }
    }

    private func answer(_ connection: Connection, decision: String, reason: String?) {
        defer { state.withLock { $0.open[ObjectIdentifier(connection)] = nil } }
        guard connection.claimAnswer() else { return }
        var reply: [String: Any] = ["decision": decision]
        if let reason { reply["reason"] = reason }
        let bytes = Array(((try? JSONSerialization.data(withJSONObject: reply)) ?? Data(#"{"decision":"deny"}"#.utf8))) + [0x0A]
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { send(connection.descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            written += count
        }
    }

    /// Stops listening, wakes the calls still open (their hooks then block the call), and waits for
    /// the threads reading requests; answers still owed by the gateway arrive later and go nowhere.
    func stop() {
        let open = state.withLock { state -> [Connection] in
            state.stopping = true
            return Array(state.open.values)
        }
        Glibc.shutdown(listener, Int32(SHUT_RDWR))
        acceptEnded.wait()
        close(listener)
        for connection in open { connection.shutDown() }
        readers.wait()
    }
}
