import Foundation
import PluginABI

/// The host's side of one run, as a Swift driver sees it. Safe to use from any thread.
public struct DriverRun: @unchecked Sendable {
    let pointer: UnsafePointer<flywheel_run_host_t>

    public var id: UInt64 { pointer.pointee.run_id }

    /// Emits an event; false when the host refused it (the run has ended).
    @discardableResult
    public func emit(_ event: DriverEvent) -> Bool {
        emit(json: event.json)
    }

    /// Emits an event given as JSON text.
    @discardableResult
    public func emit(json: String) -> Bool {
        let length = json.utf8.count
        return json.withCString { pointer.pointee.emit(pointer, $0, length) } == FLYWHEEL_OK
    }

    /// Emits an event of `type` with `fields` (strings, numbers, booleans, arrays, objects, NSNull).
    /// False when the host refused it, or when the fields cannot be encoded (then nothing is sent
    /// and the host's log says so).
    @discardableResult
    public func emit(_ type: String, _ fields: [String: Any]) -> Bool {
        var object = fields
        object["type"] = type
        guard JSONSerialization.isValidJSONObject(object),
              let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]) else {
            if let host = PluginExport.current?.host {
                DriverHost(pointer: host).log(.warning, "run \(id): a \(type) event could not be encoded and was not sent")
            }
            return false
        }
        return emit(json: String(decoding: data, as: UTF8.self))
    }

    /// The outcome of a command the host ran (or refused) for the agent.
    public struct CommandResult: Sendable, Decodable {
        public var requestId: String?
        public var decision: String
        public var ruleId: String?
        public var reason: String?
        public var ran: Bool
        public var exitCode: Int32?
        public var timedOut: Bool?
        public var stdout: String?
        public var stderr: String?
        public var truncated: Bool?
        /// For a decision-only request: whether the driver may run the command itself.
        public var delegated: Bool?
    }

    /// Asks the host to run `command` (through its command policy, in the workspace or `cwd` relative
    /// to it, with `environment` added to the host's clean one) and calls `completion` once with
    /// the result, or with nil when the run ended first. Returns false when the host did not accept
    /// the request; `completion` is then never called.
    ///
    /// With `execute: false` the host only decides (and records, and holds for an operator when the
    /// policy says ask): the result's `delegated` says whether the driver may run the command itself.
    /// A host older than ABI 1.1 would run such a request, so it is never sent to one: the call
    /// returns false (see ``DriverHost/supportsDecisionOnlyCommands``).
    @discardableResult
    public func requestCommand(
        _ command: String, cwd: String? = nil, timeoutSeconds: Double? = nil, environment: [String: String] = [:],
        execute: Bool = true,
        completion: @escaping @Sendable (CommandResult?) -> Void
    ) -> Bool {
        var request: [String: Any] = ["command": command]
        if !execute {
            guard let host = PluginExport.current?.host, DriverHost(pointer: host).supportsDecisionOnlyCommands else { return false }
            request["execute"] = false
        }
        if let cwd { request["cwd"] = cwd }
        if let timeoutSeconds { request["timeout_seconds"] = timeoutSeconds }
        if !environment.isEmpty { request["env"] = environment }
        guard let data = try? JSONSerialization.data(withJSONObject: request) else { return false }
        let json = String(decoding: data, as: UTF8.self)
        let box = Unmanaged.passRetained(CompletionBox(completion)).toOpaque()
        let length = json.utf8.count
        let status = json.withCString {
            pointer.pointee.request_command(pointer, $0, length, { userData, status, result, length in
                guard let userData else { return }
                let box = Unmanaged<CompletionBox>.fromOpaque(userData).takeRetainedValue()
                guard status == FLYWHEEL_OK, let result else { return box.completion(nil) }
                let decoder = JSONDecoder()
                decoder.keyDecodingStrategy = .convertFromSnakeCase
                let bytes = Data(UnsafeRawBufferPointer(start: result, count: length))
                box.completion(try? decoder.decode(CommandResult.self, from: bytes))
            }, box)
        }
        if status != FLYWHEEL_OK {
            Unmanaged<CompletionBox>.fromOpaque(box).release()
            return false
        }
        return true
    }
}

private final class CompletionBox: Sendable {
    let completion: @Sendable (DriverRun.CommandResult?) -> Void
    init(_ completion: @escaping @Sendable (DriverRun.CommandResult?) -> Void) { self.completion = completion }
}
