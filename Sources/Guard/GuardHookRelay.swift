#if canImport(Glibc)
import Glibc
#endif

/// The hook's side of the tmux driver's relay: one JSON line `{"command": "…"}` to the driver's Unix
/// socket, one line back, `{"decision": "allow"}` or `{"decision": "deny", "reason": "…"}`.
/// Plain system calls: this runs in the hook executable, which must start fast.
enum GuardHookRelay {
    struct Reply: Equatable {
        var allowed: Bool
        var reason: String?
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func ask(socket path: String, command: String, waitSeconds: Int) throws(Failure) -> Reply {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw Failure(description: "the socket path is too long") }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
            raw[pathBytes.count] = 0
        }
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        defer { close(descriptor) }
        // One deadline for the whole exchange. On Linux the send timeout also bounds connecting to
        // a Unix socket whose listener has a full backlog.
        var deadline = timespec()
        clock_gettime(CLOCK_MONOTONIC, &deadline)
        deadline.tv_sec += waitSeconds
        var sendTimeout = timeval(tv_sec: min(waitSeconds, 10), tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &sendTimeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { throw Failure(description: "\(path): \(String(cString: strerror(errno)))") }

        var request = Array(#"{"command":"#.utf8)
        GuardJSON.appendString(command, to: &request)
        request.append(contentsOf: "}\n".utf8)
        var written = 0
        while written < request.count {
            let count = request[written...].withUnsafeBytes { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { throw Failure(description: "cannot send the command: \(String(cString: strerror(errno)))") }
            written += count
        }
        var reply: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !reply.contains(0x0A), reply.count < 1 << 16 {
            var now = timespec()
            clock_gettime(CLOCK_MONOTONIC, &now)
            let left = (deadline.tv_sec - now.tv_sec) * 1_000_000 + (deadline.tv_nsec - now.tv_nsec) / 1000
            guard left > 0 else { throw Failure(description: "no decision within \(waitSeconds) s") }
            var timeout = timeval(tv_sec: left / 1_000_000, tv_usec: left % 1_000_000)
            setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            if count < 0, errno == EINTR { continue }
            if count < 0, errno == EAGAIN || errno == EWOULDBLOCK { throw Failure(description: "no decision within \(waitSeconds) s") }
            guard count > 0 else { break }
            reply.append(contentsOf: buffer[0..<count])
        }
        guard let object = GuardJSON.parse(reply.prefix { $0 != 0x0A }), let decision = object["decision"]?.stringValue else {
            throw Failure(description: "the gateway's answer is not a decision")
        }
        return Reply(allowed: decision == "allow", reason: object["reason"]?.stringValue)
    }
}
