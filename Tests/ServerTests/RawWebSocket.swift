import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A WebSocket client written out by hand on a plain socket with a tiny receive buffer, so that it
/// can really stop reading: what a hung or malicious client does to the server.
final class RawWebSocket: @unchecked Sendable {
    let descriptor: Int32

    struct Failure: Error, CustomStringConvertible { var description: String }

    init(port: Int, token: String) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var small: Int32 = 4096
        setsockopt(descriptor, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        let size = socklen_t(MemoryLayout<sockaddr_in>.size)
        let connected = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, size) } }
        guard descriptor >= 0, connected == 0 else { throw Failure(description: "cannot connect: errno \(errno)") }
        try send(Array("""
            GET /ws HTTP/1.1\r
            Host: 127.0.0.1\r
            Upgrade: websocket\r
            Connection: Upgrade\r
            Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r
            Sec-WebSocket-Version: 13\r
            Authorization: Bearer \(token)\r
            \r

            """.utf8))
    }

    private func send(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = bytes[offset...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else { throw Failure(description: "send failed: errno \(errno)") }
            offset += sent
        }
    }

    /// Sends one text message, masked as a client must.
    func sendText(_ text: String) throws {
        let payload = Array(text.utf8)
        precondition(payload.count < 126)
        let mask: [UInt8] = [1, 2, 3, 4]
        try send([0x81, 0x80 | UInt8(payload.count)] + mask + payload.enumerated().map { $0.element ^ mask[$0.offset % 4] })
    }

    /// The local port of this client's socket.
    var localPort: Int {
        var address = sockaddr_in()
        var size = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &size) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Whether the server still holds its end of this connection open, read from the kernel's table
    /// (/proc/net/tcp) without reading the socket: once the server has closed it, its end leaves
    /// ESTABLISHED (FIN-WAIT-1 while unread data waits for a client that reads nothing).
    func serverEndEstablished(serverPort: Int) throws -> Bool {
        let table = try String(contentsOfFile: "/proc/net/tcp", encoding: .utf8)
        let local = String(format: "0100007F:%04X", serverPort), remote = String(format: "0100007F:%04X", localPort)
        for line in table.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ")
            if fields.count > 3, fields[1] == local, fields[2] == remote { return fields[3] == "01" }
        }
        return false
    }

    /// Reads until the server closes the connection (or `timeout` passes), without ever blocking a
    /// thread: the socket is polled. Returns every byte and whether the end was reached.
    func readToEnd(timeout: Duration) async -> (bytes: [UInt8], ended: Bool) {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let count = buffer.withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if count > 0 {
                received += buffer[..<count]
            } else if count == 0 {
                return (received, true)
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                try? await Task.sleep(for: .milliseconds(5))
            } else {
                return (received, true)  // reset by the server: also an end
            }
        }
        return (received, false)
    }

    /// The close code in the stream, if a close frame is in it (frames after the HTTP response).
    static func closeCode(in bytes: [UInt8]) -> Int? {
        guard let headerEnd = bytes.indices.dropLast(3).first(where: { bytes[$0] == 13 && bytes[$0 + 1] == 10 && bytes[$0 + 2] == 13 && bytes[$0 + 3] == 10 })
        else { return nil }
        var index = headerEnd + 4
        while index + 2 <= bytes.count {
            let opcode = bytes[index] & 0x0F
            var length = Int(bytes[index + 1] & 0x7F)
            var start = index + 2
            if length == 126 {
                guard start + 2 <= bytes.count else { return nil }
                length = Int(bytes[start]) << 8 | Int(bytes[start + 1])
                start += 2
            } else if length == 127 {
                guard start + 8 <= bytes.count else { return nil }
                length = (0..<8).reduce(0) { $0 << 8 | Int(bytes[start + $1]) }
                start += 8
            }
            guard start + length <= bytes.count else { return nil }
            if opcode == 0x8, length >= 2 { return Int(bytes[start]) << 8 | Int(bytes[start + 1]) }
            index = start + length
        }
        return nil
    }

    deinit { close(descriptor) }
}
