#if canImport(Glibc)
import Glibc
#endif
import Foundation
import PluginKit

/// A JSON-RPC id as the agent sent it: a number or a string, echoed back unchanged.
enum RequestID: Hashable, Sendable, CustomStringConvertible {
    case number(Int)
    case string(String)
    /// Any other number (a fraction, or past Int), kept as its JSON text so it is echoed unchanged.
    case other(String)

    init?(_ value: Any?) {
        switch value {
        case let text as String: self = .string(text)
        case let number as NSNumber:
            if let whole = Int(exactly: number.doubleValue), Double(whole) == number.doubleValue, abs(whole) < 1 << 53 {
                self = .number(whole)
            } else {
                guard let data = try? JSONSerialization.data(withJSONObject: number, options: [.fragmentsAllowed]) else { return nil }
                self = .other(String(decoding: data, as: UTF8.self))
            }
        default: return nil
        }
    }

    var json: Any {
        switch self {
        case .number(let number): number
        case .string(let text): text
        case .other(let text): (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) ?? NSNull()
        }
    }

    var description: String {
        switch self {
        case .number(let number): String(number)
        case .string(let text): "\"\(text)\""
        case .other(let text): text
        }
    }
}

/// A JSON-RPC error object.
struct RPCError: Error, Sendable, CustomStringConvertible {
    var code: Int
    var message: String
    /// The `data` member, as JSON text.
    var data: String?

    static let methodNotFound = -32601
    static let invalidParams = -32602
    static let internalError = -32603
    static let authRequired = -32000
    static let resourceNotFound = -32002

    var description: String { "\(message) (code \(code))\(data.map { ": \($0)" } ?? "")" }
}

extension RPCError {
    /// A refused file read or write, with the code its kind calls for.
    init(refusal: WorkspaceFiles.Refusal) {
        switch refusal.kind {
        case .invalid: self.init(code: Self.invalidParams, message: refusal.message)
        case .notFound: self.init(code: Self.resourceNotFound, message: refusal.message)
        case .failed: self.init(code: Self.internalError, message: refusal.message)
        }
    }
}

/// One thing read from the agent's standard output.
enum Inbound: @unchecked Sendable {
    case request(id: RequestID, method: String, params: [String: Any])
    case notification(method: String, params: [String: Any])
    case response(id: RequestID, result: Any?, error: RPCError?)
    /// A line that is not a JSON-RPC 2.0 message; the offending part.
    case malformed(String)
    /// The output ended (the agent closed it or exited), or went past a limit; why.
    case ended(String)
}

/// The messages read and not yet handled, in order. The reader thread pushes, the run thread takes.
/// At most `capacity` wait: past that the reader waits too, and so, through the pipe, does an agent
/// that streams faster than its events are stored.
final class Inbox: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [Inbound] = []
    private var head = 0
    private var closed = false
    private let capacity: Int

    init(capacity: Int = 4_096) {
        self.capacity = capacity
    }

    func push(_ item: Inbound) {
        condition.lock()
        defer { condition.unlock() }
        while items.count - head >= capacity, !closed { condition.wait() }
        guard !closed else { return }
        items.append(item)
        condition.broadcast()
    }

    /// The next message, waiting up to `timeout` seconds; nil when none came.
    func next(timeout: Double) -> Inbound? {
        condition.lock()
        defer { condition.unlock() }
        let deadline = Date().addingTimeInterval(timeout)
        while head == items.count {
            if closed || !condition.wait(until: deadline) { return nil }
        }
        let item = items[head]
        head += 1
        if head > 1_024, head * 2 > items.count {
            items.removeFirst(head)
            head = 0
        }
        condition.broadcast()
        return item
    }

    var isEmpty: Bool {
        condition.lock()
        defer { condition.unlock() }
        return head == items.count
    }

    /// Drops what waits and lets a waiting reader go: the run is over.
    func close() {
        condition.lock()
        closed = true
        items = []
        head = 0
        condition.broadcast()
        condition.unlock()
    }
}

/// Newline-delimited JSON-RPC 2.0 over the agent's standard input and output.
///
/// Messages go out through a writer thread of the connection's own, so no caller ever blocks on an
/// agent that does not read: not the run's thread, and not the host's thread that delivers a
/// decision. What waits is bounded; past the bound the connection is stalled and the run fails.
final class Connection: @unchecked Sendable {
    let child: ChildProcess
    private let lock = NSLock()
    private var nextID = 0
    private let outbox = NSCondition()
    private var queued: [[UInt8]] = []
    private var queuedBytes = 0
    private var closed = false
    private var stalledReason: String?
    private let finished = DispatchSemaphore(value: 0)
    static let outboxLimit = 32 << 20

    init(child: ChildProcess) {
        self.child = child
        let thread = Thread { [self] in
            defer { finished.signal() }
            while let message = nextOutgoing() {
                if !child.write(message) {
                    markStalled("the agent stopped reading its input (it closed it or exited)")
                    return
                }
            }
        }
        thread.name = "flywheel-acp-in-\(child.pid)"
        thread.start()
    }

    /// Why nothing more can be sent, once that is so.
    var stalled: String? {
        outbox.lock()
        defer { outbox.unlock() }
        return stalledReason
    }

    private func nextOutgoing() -> [UInt8]? {
        outbox.lock()
        defer { outbox.unlock() }
        while queued.isEmpty, !closed { outbox.wait() }
        guard !queued.isEmpty, stalledReason == nil else { return nil }
        let message = queued.removeFirst()
        queuedBytes -= message.count
        return message
    }

    private func markStalled(_ reason: String) {
        outbox.lock()
        if stalledReason == nil { stalledReason = reason }
        dropQueued()
        outbox.unlock()
    }

    /// Empties the queue and wakes the writer; the caller holds `outbox`.
    private func dropQueued() {
        queued = []
        queuedBytes = 0
        outbox.broadcast()
    }

    /// Stops sending: what is queued is dropped, and a write blocked on the agent ends with its
    /// input (``ChildProcess/closeInput()``). Waits briefly for the writer thread.
    func close() {
        outbox.lock()
        closed = true
        dropQueued()
        outbox.unlock()
        child.closeInput()
        _ = finished.wait(timeout: .now() + 2)
    }

    /// Sends a request; its id.
    func request(_ method: String, _ params: [String: Any]) -> RequestID {
        lock.lock()
        nextID += 1
        let id = nextID
        lock.unlock()
        send(["jsonrpc": "2.0", "id": id, "method": method, "params": params])
        return .number(id)
    }

    func notify(_ method: String, _ params: [String: Any]) {
        send(["jsonrpc": "2.0", "method": method, "params": params])
    }

    func respond(_ id: RequestID, result: Any) {
        send(["jsonrpc": "2.0", "id": id.json, "result": result])
    }

    func respond(_ id: RequestID, error: RPCError) {
        var object: [String: Any] = ["code": error.code, "message": error.message]
        if let data = error.data { object["data"] = data }
        send(["jsonrpc": "2.0", "id": id.json, "error": object])
    }

    /// Writes one message as one line. A message that cannot be encoded is a bug of ours; it is
    /// replaced by an internal error for the agent rather than dropped.
    private func send(_ message: [String: Any]) {
        var bytes: [UInt8]
        if let data = try? JSONSerialization.data(withJSONObject: message, options: [.withoutEscapingSlashes]) {
            bytes = Array(data)
        } else {
            let id = (message["id"] as? Int).map(String.init) ?? (message["id"] as? String).map { "\"\($0)\"" } ?? "null"
            bytes = Array(#"{"jsonrpc":"2.0","id":\#(id),"error":{"code":-32603,"message":"the client could not encode its answer"}}"#.utf8)
        }
        bytes.append(0x0A)
        outbox.lock()
        defer { outbox.unlock() }
        guard !closed, stalledReason == nil else { return }
        if queuedBytes + bytes.count > Self.outboxLimit {
            stalledReason = "the agent stopped reading its input (\(queuedBytes >> 20) MiB waiting for it)"
            dropQueued()
            return
        }
        queued.append(bytes)
        queuedBytes += bytes.count
        outbox.signal()
    }

    /// Parses one line into a message.
    static func parse(_ line: ArraySlice<UInt8>) -> Inbound {
        guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
            return .malformed(excerpt(line))
        }
        guard object["jsonrpc"] as? String == "2.0" else { return .malformed(excerpt(line)) }
        if let method = object["method"] as? String {
            let params = object["params"] as? [String: Any] ?? [:]
            if object["id"] == nil || object["id"] is NSNull { return .notification(method: method, params: params) }
            guard let id = RequestID(object["id"]) else { return .malformed(excerpt(line)) }
            return .request(id: id, method: method, params: params)
        }
        if object["id"] is NSNull, let error = object["error"] as? [String: Any] {
            // JSON-RPC's answer to a message the agent could not even read (a parse error).
            return .ended("the agent could not read a message of ours: \(error["message"] as? String ?? "no message") (code \((error["code"] as? Int).map(String.init) ?? "?"))")
        }
        guard let id = RequestID(object["id"]) else { return .malformed(excerpt(line)) }
        if let error = object["error"] as? [String: Any] {
            let data = error["data"].flatMap { try? JSONSerialization.data(withJSONObject: $0, options: [.fragmentsAllowed]) }
            return .response(id: id, result: nil, error: RPCError(
                code: (error["code"] as? Int) ?? RPCError.internalError, message: error["message"] as? String ?? "no message",
                data: data.map { String(decoding: $0, as: UTF8.self) }))
        }
        guard object.keys.contains("result") else { return .malformed(excerpt(line)) }
        return .response(id: id, result: object["result"], error: nil)
    }

    static func excerpt(_ line: ArraySlice<UInt8>) -> String {
        let text = String(decoding: line.prefix(200), as: UTF8.self)
        return line.count > 200 ? text + "… (\(line.count) bytes)" : text
    }
}

/// Reads one of the agent's outputs on a thread of its own until it ends or `stop` is called.
final class StreamReader: @unchecked Sendable {
    private let descriptor: Int32
    private let stopped = NSLock()
    private var isStopped = false
    private let finished = DispatchSemaphore(value: 0)

    init(descriptor: Int32, name: String, body: @escaping @Sendable (_ chunk: [UInt8]) -> Bool) {
        self.descriptor = descriptor
        let thread = Thread { [self] in
            defer { finished.signal() }
            while !stopRequested {
                var poller = pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0)
                let ready = poll(&poller, 1, 200)
                if ready < 0, errno == EINTR { continue }
                if ready == 0 { continue }
                let chunk = ChildProcess.read(descriptor)
                // Empty: end of file. `body` returns false to stop reading.
                if !body(chunk) || chunk.isEmpty { return }
            }
        }
        thread.name = name
        thread.start()
    }

    private var stopRequested: Bool {
        stopped.lock()
        defer { stopped.unlock() }
        return isStopped
    }

    /// Asks the reader to stop and waits up to `seconds` for it; true when it has.
    @discardableResult
    func stop(waiting seconds: Double) -> Bool {
        stopped.lock()
        isStopped = true
        stopped.unlock()
        return finished.wait(timeout: .now() + seconds) == .success
    }

    /// Waits up to `seconds` for the output to end on its own.
    @discardableResult
    func wait(seconds: Double) -> Bool {
        guard finished.wait(timeout: .now() + seconds) == .success else { return false }
        finished.signal()
        return true
    }
}

/// Splits the agent's standard output into lines and parses each into the inbox.
struct LineSplitter {
    let limit: Int
    let inbox: Inbox
    private var buffer: [UInt8] = []
    private var scanned = 0

    init(limit: Int, inbox: Inbox) {
        self.limit = limit
        self.inbox = inbox
    }

    /// Takes a chunk (empty: end of output); false once reading should stop.
    mutating func take(_ chunk: [UInt8]) -> Bool {
        guard !chunk.isEmpty else {
            inbox.push(.ended("the agent closed its output"))
            return false
        }
        buffer.append(contentsOf: chunk)
        var start = 0
        while let newline = buffer[scanned...].firstIndex(of: 0x0A) {
            var line = buffer[start..<newline]
            if line.last == 0x0D { line = line.dropLast() }
            if !line.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) { inbox.push(Connection.parse(line)) }
            start = newline + 1
            scanned = start
        }
        if start > 0 {
            buffer.removeFirst(start)
            scanned = 0
        }
        scanned = buffer.count
        if buffer.count > limit {
            inbox.push(.ended("the agent sent a message longer than \(limit) bytes without a line end (max_message_bytes)"))
            return false
        }
        return true
    }
}
