#if canImport(Glibc)
import Glibc
#endif
import Foundation
import PluginKit

/// What a checkpoint of an ACP run holds: the agent's session, so `session/load` can bring it back.
struct ACPCheckpoint: Codable, Sendable {
    var schema = "flywheel.acp-checkpoint/1"
    /// The agent's session id; nil when the run was saved before the agent had created it.
    var acpSessionId: String?
    /// The folder the session was created in (ACP's `cwd`).
    var cwd: String

    var bytes: [UInt8] {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        return Array((try? encoder.encode(self)) ?? Data("{}".utf8))
    }

    init(acpSessionId: String?, cwd: String) {
        self.acpSessionId = acpSessionId
        self.cwd = cwd
    }

    init(bytes: [UInt8]) throws(DriverFailure) {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        guard let decoded = try? decoder.decode(ACPCheckpoint.self, from: Data(bytes)), decoded.schema == "flywheel.acp-checkpoint/1" else {
            throw .invalidArgument("the checkpoint is not an ACP driver checkpoint (flywheel.acp-checkpoint/1)")
        }
        self = decoded
    }
}

/// One run: the agent process, its ACP session, and the answers to what the agent asks of us.
///
/// The run's own thread (from ``RunTable``) drives the protocol: it sends our requests and handles
/// every message the agent sends while it waits for their answers. Two reader threads read the
/// agent's output and error. Answers that need the host (a permission, a terminal command) are sent
/// from the host's callback thread when it answers, so the agent keeps streaming meanwhile.
final class ACPRun: @unchecked Sendable {
    let configuration: ACPConfiguration
    let control: RunControl
    let task: DriverTask
    let workspace: String
    let host: DriverHost
    private let inbox = Inbox()
    private let terminals = Terminals()
    private let files: WorkspaceFiles
    private let state = NSLock()
    private var acpSessionID: String?
    /// Permission requests waiting for the host, answered at most once each.
    private var openPermissions: Set<RequestID> = []
    /// Text streamed since it was last emitted, by kind (`message` or `thinking`).
    private var pendingText = ""
    private var pendingKind = ""
    /// The agent's last message of the turn, for the summary.
    private var lastMessage = ""
    /// What the agent said about each tool call so far (run thread only).
    private var toolCalls: [String: [String: Any]] = [:]
    /// True while `session/load` replays history that is already stored.
    private var replaying = false
    private var replayed = 0
    private var stderrTail: [UInt8] = []
    private var stderrRecorded = 0

    var run: DriverRun { control.run }

    init(configuration: ACPConfiguration, control: RunControl, task: DriverTask, workspace: String, host: DriverHost) {
        self.configuration = configuration
        self.control = control
        self.task = task
        self.workspace = workspace
        self.host = host
        files = WorkspaceFiles(workspace: workspace, maxBytes: configuration.maxFileBytes)
    }

    /// The state to save now.
    var checkpoint: ACPCheckpoint {
        state.lock()
        defer { state.unlock() }
        return ACPCheckpoint(acpSessionId: acpSessionID, cwd: workspace)
    }

    /// Why a run ends early.
    private enum Stop: Error {
        case failed(String)
        /// The agent answered one of our requests with an error.
        case refused(method: String, RPCError)
        case cancelled

        var reason: String? {
            switch self {
            case .failed(let reason): reason
            case .refused(let method, let error): "the agent refused \(method): \(error)"
            case .cancelled: nil
            }
        }
    }

    // MARK: - The run

    func perform(resumingFrom checkpoint: ACPCheckpoint?) -> DriverEvent {
        let child: ChildProcess
        do {
            let directory = configuration.directory.map { $0.hasPrefix("/") ? $0 : "\(workspace)/\($0)" } ?? workspace
            child = try ChildProcess(executable: configuration.command[0], arguments: Array(configuration.command.dropFirst()),
                                     environment: configuration.childEnvironment(), directory: directory)
        } catch {
            return .failed(error: "cannot start the ACP agent: \(error.description)", retryable: false)
        }
        emit("status", ["message": "started ACP agent \(configuration.command[0]) (pid \(child.pid))"])
        // Until the agent has its session again, a checkpoint still names the one being resumed.
        state.lock()
        acpSessionID = checkpoint?.acpSessionId
        state.unlock()
        let connection = Connection(child: child)
        let splitterBox = SplitterBox(LineSplitter(limit: configuration.maxMessageBytes, inbox: inbox))
        let output = StreamReader(descriptor: child.standardOutput, name: "flywheel-acp-out-\(run.id)") { chunk in
            splitterBox.take(chunk)
        }
        let errors = StreamReader(descriptor: child.standardError, name: "flywheel-acp-err-\(run.id)") { [self] chunk in
            recordStandardError(chunk)
            return true
        }
        let outcome: DriverEvent
        do throws(Stop) {
            outcome = try converse(connection, resumingFrom: checkpoint)
        } catch {
            outcome = error.reason.map { .failed(error: $0, retryable: false) } ?? .cancelled
        }
        flushText()
        answerOpenPermissions(connection)
        // Nothing more is read from the agent: a reader held back by a full inbox lets go, and the
        // agent's writes do not hold up its exit.
        inbox.close()
        connection.close()
        let status = child.terminate(grace: configuration.cancelGraceSeconds)
        output.stop(waiting: 2)
        // The error output is read to its end (bounded), so what the agent said last is stored before the outcome.
        if !errors.wait(seconds: 2) { errors.stop(waiting: 1) }
        flushStandardError()
        host.log(.debug, "ACP agent of run \(run.id) \(status)")
        return outcome
    }

    private func converse(_ connection: Connection, resumingFrom checkpoint: ACPCheckpoint?) throws(Stop) -> DriverEvent {
        let initialized = try call(connection, "initialize", [
            "protocolVersion": 1,
            "clientCapabilities": ["fs": ["readTextFile": true, "writeTextFile": true], "terminal": true],
            "clientInfo": ["name": "flywheel", "title": "Flywheel Gateway", "version": "1.0"],
        ], timeout: configuration.requestTimeoutSeconds)
        guard let info = initialized as? [String: Any] else { throw .failed("the agent's initialize answer is not an object") }
        let version = (info["protocolVersion"] as? NSNumber)?.intValue
        guard version == 1 else {
            throw .failed("the agent speaks ACP protocol version \(version.map(String.init) ?? "?"); this driver speaks version 1")
        }
        let capabilities = info["agentCapabilities"] as? [String: Any] ?? [:]
        let canLoad = (capabilities["loadSession"] as? Bool) ?? false
        let methods = (info["authMethods"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        if let method = configuration.authMethod {
            guard methods.contains(method) else {
                throw .failed("auth_method '\(method)' is not one the agent offers (\(methods.isEmpty ? "none" : methods.joined(separator: ", ")))")
            }
            _ = try call(connection, "authenticate", ["methodId": method], timeout: configuration.requestTimeoutSeconds)
        }

        var prompt = task.prompt
        var sessionID: String?
        if let checkpoint, let saved = checkpoint.acpSessionId {
            if canLoad {
                setReplaying(true)
                do {
                    _ = try call(connection, "session/load", ["sessionId": saved, "cwd": workspace, "mcpServers": [Any]()],
                                 timeout: configuration.requestTimeoutSeconds)
                    sessionID = saved
                    prompt = configuration.resumePrompt
                    emit("status", ["message": "loaded the agent's session \(saved) (\(setReplaying(false)) updates of its history not stored again)"])
                } catch .cancelled {
                    throw .cancelled
                } catch {
                    setReplaying(false)
                    emit("status", ["message": "the agent could not load session \(saved) (\(error.reason ?? "")); starting a new session with the task"])
                }
            } else {
                emit("status", ["message": "the agent cannot load sessions (no loadSession capability); starting a new session with the task"])
            }
        }
        if sessionID == nil {
            let created = try newSession(connection, authMethods: methods)
            guard let id = (created as? [String: Any])?["sessionId"] as? String, !id.isEmpty else {
                throw .failed("the agent's session/new answer has no sessionId")
            }
            sessionID = id
        }
        guard let sessionID else { throw .failed("no agent session") }
        state.lock()
        acpSessionID = sessionID
        state.unlock()
        run.offerCheckpoint(ACPCheckpoint(acpSessionId: sessionID, cwd: workspace).bytes)
        emit("x-acp.session", ["acp_session_id": sessionID, "load_session": canLoad])

        let answer = try call(connection, "session/prompt", ["sessionId": sessionID, "prompt": [["type": "text", "text": prompt]]],
                              timeout: configuration.promptTimeoutSeconds, cancellable: sessionID)
        flushText()
        let result = answer as? [String: Any] ?? [:]
        if let usage = result["usage"] as? [String: Any] {
            var fields: [String: Any] = ["input_tokens": usage["inputTokens"] ?? 0, "output_tokens": usage["outputTokens"] ?? 0]
            for (from, to) in [("cachedReadTokens", "cached_read_tokens"), ("cachedWriteTokens", "cached_write_tokens"), ("thoughtTokens", "thought_tokens")] {
                if let value = usage[from] { fields[to] = value }
            }
            emit("usage", fields)
        }
        if control.isCancelled { return .cancelled }
        let reason = result["stopReason"] as? String ?? "?"
        switch reason {
        case "end_turn":
            let summary = lastMessage.trimmingCharacters(in: .whitespacesAndNewlines)
            return .completed(summary: summary.isEmpty ? "the agent ended its turn" : String(summary.suffix(2_000)))
        case "cancelled": return .cancelled
        case "max_tokens": return .failed(error: "the agent stopped: it reached its token limit (max_tokens)", retryable: false)
        case "max_turn_requests": return .failed(error: "the agent stopped: it reached its limit of model requests in one turn (max_turn_requests)", retryable: false)
        case "refusal": return .failed(error: "the agent refused to go on (refusal)", retryable: false)
        default: return .failed(error: "the agent ended its turn with an unknown stop reason '\(reason)'", retryable: false)
        }
    }

    @discardableResult
    private func setReplaying(_ on: Bool) -> Int {
        state.lock()
        defer { state.unlock() }
        replaying = on
        let count = replayed
        replayed = 0
        return count
    }

    /// Sends a request and handles everything the agent sends until its answer comes. With
    /// `cancellable` (the agent's session id), a cancel of the run sends `session/cancel` and gives
    /// the agent `cancel_grace_seconds` to end its turn.
    private func call(_ connection: Connection, _ method: String, _ params: [String: Any], timeout: Double,
                      cancellable: String? = nil) throws(Stop) -> Any? {
        let id = connection.request(method, params)
        let deadline = Date().addingTimeInterval(timeout)
        var cancelDeadline: Date?
        var exitedAt: Date?
        while true {
            if control.isCancelled {
                guard let sessionID = cancellable else { throw .cancelled }
                if cancelDeadline == nil {
                    flushText()
                    connection.notify("session/cancel", ["sessionId": sessionID])
                    answerOpenPermissions(connection)
                    emit("status", ["message": "asked the agent to cancel its turn (session/cancel)"])
                    cancelDeadline = Date().addingTimeInterval(configuration.cancelGraceSeconds)
                } else if let limit = cancelDeadline, Date() >= limit {
                    emit("status", ["message": "the agent did not end its turn within \(configuration.cancelGraceSeconds) s of session/cancel; stopping it"])
                    throw .cancelled
                }
            }
            // Checked on every turn: an agent that keeps talking must still answer in time.
            if Date() >= deadline {
                throw .failed("the agent did not answer \(method) within \(Self.seconds(timeout)) s")
            }
            if let stalled = connection.stalled { throw .failed("\(stalled) during \(method)") }
            guard let message = inbox.next(timeout: inbox.isEmpty && !pendingText.isEmpty ? 0 : 0.1) else {
                flushText()
                // An agent that exited while something it started still holds its output open.
                if exitedAt == nil, connection.child.peekExit() != nil { exitedAt = Date() }
                if let exitedAt, Date().timeIntervalSince(exitedAt) > 1 {
                    let status = connection.child.peekExit().map { "it \($0)" } ?? "it ended"
                    throw .failed("the agent exited during \(method) (\(status))\(stderrExcerpt())")
                }
                continue
            }
            switch message {
            case .response(let answered, let result, let error) where answered == id:
                if let error {
                    // An error answer to a turn that was being cancelled is the cancel's outcome.
                    if cancellable != nil, control.isCancelled { throw .cancelled }
                    throw .refused(method: method, error)
                }
                return result
            case .response(let other, _, _):
                host.log(.debug, "ACP run \(run.id): an answer to request \(other), which no one awaits")
            case .request(let requestID, let name, let requestParams):
                flushText()
                handleRequest(connection, requestID, name, requestParams)
            case .notification(let name, let notificationParams):
                handleNotification(name, notificationParams)
            case .malformed(let excerpt):
                throw .failed("the agent sent a line that is not JSON-RPC 2.0: \(excerpt)")
            case .ended(let why):
                let status = connection.child.waitForExit(seconds: 2).map { "it \($0)" } ?? "it is still running"
                throw .failed("\(why) during \(method) (\(status))\(stderrExcerpt())")
            }
        }
    }

    /// `session/new`. An agent that asks for authentication first gets it when it offers exactly one
    /// method and none is configured (then the request is sent once more); otherwise the run fails
    /// naming the methods to choose from.
    private func newSession(_ connection: Connection, authMethods: [String]) throws(Stop) -> Any? {
        let params: [String: Any] = ["cwd": workspace, "mcpServers": [Any]()]
        do {
            return try call(connection, "session/new", params, timeout: configuration.requestTimeoutSeconds)
        } catch .refused(_, let error) where error.code == RPCError.authRequired {
            guard configuration.authMethod == nil, authMethods.count == 1 else {
                let offered = authMethods.isEmpty ? "(the agent offers none)" : authMethods.joined(separator: ", ")
                throw .failed("the agent requires authentication: set auth_method to one of: \(offered)")
            }
            emit("status", ["message": "the agent asked for authentication; using its only method, \(authMethods[0])"])
            _ = try call(connection, "authenticate", ["methodId": authMethods[0]], timeout: configuration.requestTimeoutSeconds)
            return try call(connection, "session/new", params, timeout: configuration.requestTimeoutSeconds)
        }
    }

    static func seconds(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }

    // MARK: - What the agent tells us

    private func handleNotification(_ method: String, _ params: [String: Any]) {
        guard method == "session/update" else {
            host.log(.debug, "ACP run \(run.id): notification \(method) ignored")
            return
        }
        guard let update = params["update"] as? [String: Any], let kind = update["sessionUpdate"] as? String else {
            emit("x-acp.update", ["update": params])
            return
        }
        state.lock()
        if replaying {
            replayed += 1
            state.unlock()
            return
        }
        state.unlock()
        switch kind {
        case "agent_message_chunk", "agent_thought_chunk", "user_message_chunk":
            let content = update["content"] as? [String: Any] ?? [:]
            guard content["type"] as? String == "text", let text = content["text"] as? String else {
                flushText()
                emit("x-acp.\(kind)", ["update": update])
                return
            }
            if kind == "user_message_chunk" {
                flushText()
                emit("message", ["role": "user", "text": text])
                return
            }
            let eventKind = kind == "agent_message_chunk" ? "message" : "thinking"
            if pendingKind != eventKind { flushText() }
            pendingKind = eventKind
            pendingText += text
            if eventKind == "message" { lastMessage += text }
            if pendingText.utf8.count >= 16_384 { flushText() }
        case "tool_call":
            flushText()
            lastMessage = ""
            rememberToolCall(update)
            let id = update["toolCallId"] as? String ?? ""
            let name = (update["title"] as? String) ?? (update["kind"] as? String) ?? "tool"
            var fields: [String: Any] = ["id": id, "name": name, "input": update["rawInput"] ?? [String: Any]()]
            for key in ["kind", "status", "locations", "content"] { if let value = update[key] { fields[key] = value } }
            emit("tool_call", fields)
            if let status = update["status"] as? String, status == "completed" || status == "failed" {
                emitToolResult(id, update, failed: status == "failed")
            }
        case "tool_call_update":
            flushText()
            rememberToolCall(update)
            let id = update["toolCallId"] as? String ?? ""
            if let status = update["status"] as? String, status == "completed" || status == "failed" {
                emitToolResult(id, update, failed: status == "failed")
            } else {
                emit("x-acp.tool_call_update", ["update": update])
            }
        case "plan":
            flushText()
            emit("x-acp.plan", ["entries": update["entries"] ?? [Any]()])
        default:
            // current_mode_update, available_commands_update, usage_update, config_option_update,
            // session_info_update, and variants newer than this driver: kept whole.
            flushText()
            emit("x-acp.\(Self.eventName(kind))", ["update": update])
        }
    }

    /// A `sessionUpdate` name as an event type suffix: letters, digits, `_`, `-` and `.`.
    static func eventName(_ kind: String) -> String {
        let cleaned = String(kind.unicodeScalars.filter { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "_-.".unicodeScalars.contains($0)) }.prefix(64))
        return cleaned.isEmpty ? "update" : cleaned
    }

    private func emitToolResult(_ id: String, _ update: [String: Any], failed: Bool) {
        var parts: [String] = []
        for item in update["content"] as? [[String: Any]] ?? [] {
            switch item["type"] as? String {
            case "content":
                if let block = item["content"] as? [String: Any], let text = block["text"] as? String { parts.append(text) }
            case "diff":
                parts.append("edited \(item["path"] as? String ?? "a file")")
            case "terminal":
                if let terminal = item["terminalId"] as? String, let text = terminals.text(terminal) { parts.append(text) }
            default: break
            }
        }
        if parts.isEmpty, let raw = update["rawOutput"] {
            if let text = raw as? String {
                parts.append(text)
            } else if let data = try? JSONSerialization.data(withJSONObject: raw, options: [.fragmentsAllowed, .sortedKeys]) {
                parts.append(String(decoding: data, as: UTF8.self))
            }
        }
        emit("tool_result", ["id": id, "output": parts.joined(separator: "\n"), "is_error": failed, "update": update])
    }

    /// Emits the streamed text held back so far as one event.
    private func flushText() {
        guard !pendingText.isEmpty else { return }
        if pendingKind == "message" {
            emit("message", ["role": "assistant", "text": pendingText])
        } else {
            emit("thinking", ["text": pendingText])
        }
        pendingText = ""
    }

    // MARK: - What the agent asks of us

    private func handleRequest(_ connection: Connection, _ id: RequestID, _ method: String, _ params: [String: Any]) {
        switch method {
        case "session/request_permission": requestPermission(connection, id, params)
        case "fs/read_text_file":
            do {
                let content = try files.read(params["path"] as? String ?? "", line: (params["line"] as? NSNumber)?.intValue,
                                             limit: (params["limit"] as? NSNumber)?.intValue)
                connection.respond(id, result: ["content": content])
            } catch {
                connection.respond(id, error: RPCError(refusal: error))
            }
        case "fs/write_text_file":
            guard let content = params["content"] as? String else {
                return connection.respond(id, error: RPCError(code: RPCError.invalidParams, message: "content must be a string"))
            }
            do {
                let path = params["path"] as? String ?? ""
                let relative = try files.write(path, content: content)
                emit("x-acp.file_written", ["path": relative, "bytes": content.utf8.count])
                connection.respond(id, result: [String: Any]())
            } catch {
                emit("x-acp.file_refused", ["path": params["path"] as? String ?? "", "reason": error.message])
                connection.respond(id, error: RPCError(refusal: error))
            }
        case "terminal/create": createTerminal(connection, id, params)
        case "terminal/output":
            guard let terminal = params["terminalId"] as? String, case .output(let output, let truncated, let exit) = terminals.output(terminal) else {
                return connection.respond(id, error: Self.unknownTerminal(params))
            }
            var result: [String: Any] = ["output": output, "truncated": truncated]
            if let exit { result["exitStatus"] = exit.json }
            connection.respond(id, result: result)
        case "terminal/wait_for_exit":
            guard let terminal = params["terminalId"] as? String, let status = terminals.waitForExit(terminal, request: id) else {
                return connection.respond(id, error: Self.unknownTerminal(params))
            }
            if let exit = status { connection.respond(id, result: exit.json) }
        case "terminal/kill":
            let terminal = params["terminalId"] as? String ?? ""
            let state = terminals.state(terminal)
            guard state.exists else { return connection.respond(id, error: Self.unknownTerminal(params)) }
            if state.ended { return connection.respond(id, result: [String: Any]()) }
            connection.respond(id, error: RPCError(
                code: RPCError.internalError,
                message: "the gateway runs this command and cannot stop it early: it ends by itself or at its timeout (\(Self.seconds(configuration.terminalTimeoutSeconds)) s)"))
        case "terminal/release":
            guard let terminal = params["terminalId"] as? String, let waiters = terminals.release(terminal) else {
                return connection.respond(id, error: Self.unknownTerminal(params))
            }
            for waiter in waiters { connection.respond(waiter, error: RPCError(code: RPCError.invalidParams, message: "terminal \(terminal) was released")) }
            connection.respond(id, result: [String: Any]())
        default:
            connection.respond(id, error: RPCError(code: RPCError.methodNotFound, message: "Method not found", data: "\"\(method)\""))
        }
    }

    static func unknownTerminal(_ params: [String: Any]) -> RPCError {
        RPCError(code: RPCError.invalidParams, message: "unknown terminal \(params["terminalId"] as? String ?? "(none given)")")
    }

    /// The shell command a tool call's input names, if any: `command` or `cmd` (a string, or a list of
    /// words), or `argv` (a list of words).
    static func shellCommand(_ input: [String: Any]) -> String? {
        for key in ["command", "cmd", "argv"] {
            if key != "argv", let text = input[key] as? String, !text.isEmpty { return text }
            if let words = input[key] as? [String], !words.isEmpty { return words.map(shellQuoted).joined(separator: " ") }
        }
        return nil
    }

    /// Tool kinds that are not a shell: `other_tools` decides them (after the workspace check).
    static let nonShellKinds: Set<String> = ["read", "edit", "delete", "move", "search", "think", "fetch", "switch_mode"]

    /// What a permission request is about, in full: ACP sends a partial tool call, so the fields the
    /// agent gave earlier (in `tool_call` and `tool_call_update`) fill in what it left out.
    private func completedToolCall(_ partial: [String: Any]) -> [String: Any] {
        guard let id = partial["toolCallId"] as? String, let known = toolCalls[id] else { return partial }
        return known.merging(partial.filter { !($0.value is NSNull) }) { $1 }
    }

    /// Keeps what a `tool_call` or `tool_call_update` says about its call, for permission requests.
    private func rememberToolCall(_ update: [String: Any]) {
        guard let id = update["toolCallId"] as? String else { return }
        if toolCalls[id] == nil, toolCalls.count >= 1_024 { toolCalls.removeAll() }
        var known = toolCalls[id] ?? [:]
        for key in ["kind", "title", "rawInput", "locations"] {
            if let value = update[key], !(value is NSNull) { known[key] = value }
        }
        known["toolCallId"] = id
        toolCalls[id] = known
    }

    static func shellQuoted(_ word: String) -> String {
        let plain = !word.isEmpty && word.unicodeScalars.allSatisfy {
            $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "-_./=:,+@%".unicodeScalars.contains($0))
        }
        return plain ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    private func requestPermission(_ connection: Connection, _ id: RequestID, _ params: [String: Any]) {
        let toolCall = completedToolCall(params["toolCall"] as? [String: Any] ?? [:])
        let options = (params["options"] as? [[String: Any]] ?? []).compactMap { option -> (id: String, kind: String)? in
            guard let optionID = option["optionId"] as? String, let kind = option["kind"] as? String else { return nil }
            return (optionID, kind)
        }
        // Never `allow_always`: the agent would stop asking, and later calls would skip the gateway.
        let allow = options.first { $0.kind == "allow_once" }
        let reject = options.first { $0.kind == "reject_once" } ?? options.first { $0.kind == "reject_always" }
        let toolCallID = toolCall["toolCallId"] as? String ?? ""
        let title = toolCall["title"] as? String ?? ""
        let kind = toolCall["kind"] as? String
        state.lock()
        openPermissions.insert(id)
        state.unlock()
        let answer: @Sendable (_ allowed: Bool, _ command: String?, _ reason: String) -> Void = { [self] allowed, command, reason in
            var reason = reason
            var chosen = allowed ? allow : reject
            if allowed, allow == nil {
                reason += "; but the agent offered no allow_once option (allow_always would let later calls skip the gateway), so it is refused"
                chosen = reject
            }
            var record: [String: Any] = ["tool_call_id": toolCallID, "title": title, "decision": chosen?.kind.hasPrefix("allow") == true ? "allow" : "reject",
                                         "reason": reason]
            if let kind { record["kind"] = kind }
            if let command { record["command"] = command }
            if let chosen { record["option_id"] = chosen.id }
            guard claimPermission(id) else { return }
            emit("x-acp.permission", record)
            if let chosen {
                connection.respond(id, result: ["outcome": ["outcome": "selected", "optionId": chosen.id]])
            } else {
                // No option of the needed kind: the only refusal left is to cancel the request.
                connection.respond(id, result: ["outcome": ["outcome": "cancelled"]])
            }
        }
        let input = toolCall["rawInput"] as? [String: Any] ?? [:]
        let command = Self.shellCommand(input)
        if let kind, Self.nonShellKinds.contains(kind) {
            // Not a shell: its paths must be in the workspace, then other_tools decides.
            let paths = (toolCall["locations"] as? [[String: Any]] ?? []).compactMap { $0["path"] as? String }
                + ["path", "file_path", "filePath", "destination"].compactMap { input[$0] as? String }
            if let outside = paths.first(where: { !files.allows($0) }) {
                return answer(false, nil, "\(kind) of \(outside), which is outside the session's workspace")
            }
            let allowed = configuration.otherTools == "allow"
            return answer(allowed, nil, "a \(kind) tool call, not a shell command: \(allowed ? "allowed" : "refused") by other_tools = \"\(configuration.otherTools)\"")
        }
        // `execute`, `other`, no kind or one newer than this driver: a shell command if it names one.
        guard let command else {
            if kind == "execute" || !input.isEmpty {
                return answer(false, nil, "a \(kind ?? "tool") call whose command the gateway cannot read is refused")
            }
            let allowed = configuration.otherTools == "allow"
            return answer(allowed, nil, "a tool call with no input: \(allowed ? "allowed" : "refused") by other_tools = \"\(configuration.otherTools)\"")
        }
        let accepted = run.requestCommand(command, execute: false) { result in
            guard let result else { return answer(false, command, "the run ended before the gateway decided") }
            let rule = result.ruleId.map { " (\($0))" } ?? ""
            if result.delegated == true {
                answer(true, command, "allowed by the gateway's policy: decision \(result.decision)\(rule)")
            } else {
                answer(false, command, "refused by the gateway's policy\(rule): \(result.reason ?? "decision \(result.decision)")")
            }
        }
        if !accepted { answer(false, command, "the gateway did not take the command for a decision") }
    }

    /// True for the first answer to a permission request; a later one (after a cancel) is dropped.
    private func claimPermission(_ id: RequestID) -> Bool {
        state.lock()
        defer { state.unlock() }
        return openPermissions.remove(id) != nil
    }

    /// Answers every permission request still open: after `session/cancel`, ACP asks for `cancelled`.
    private func answerOpenPermissions(_ connection: Connection) {
        state.lock()
        let open = openPermissions
        openPermissions = []
        state.unlock()
        for id in open { connection.respond(id, result: ["outcome": ["outcome": "cancelled"]]) }
    }

    private func createTerminal(_ connection: Connection, _ id: RequestID, _ params: [String: Any]) {
        guard let program = params["command"] as? String, !program.isEmpty else {
            return connection.respond(id, error: RPCError(code: RPCError.invalidParams, message: "command must be a non-empty string"))
        }
        let arguments = params["args"] as? [String] ?? []
        // With arguments, every word is quoted; without, `command` is taken as a shell command line
        // (what agents send when they run one).
        let line = arguments.isEmpty ? program : ([program] + arguments).map(Self.shellQuoted).joined(separator: " ")
        var environment: [String: String] = [:]
        for variable in params["env"] as? [[String: Any]] ?? [] {
            guard let name = variable["name"] as? String, let value = variable["value"] as? String, ACPConfiguration.isVariableName(name) else {
                return connection.respond(id, error: RPCError(code: RPCError.invalidParams, message: "env entries need a variable name and a string value"))
            }
            environment[name] = value
        }
        var relative: String?
        if let cwd = params["cwd"] as? String, !cwd.isEmpty {
            guard cwd.hasPrefix("/"), let resolved = WorkspaceFiles.resolved(cwd), WorkspaceFiles.contains(files.root, resolved) else {
                return connection.respond(id, error: RPCError(code: RPCError.invalidParams, message: "cwd \(cwd) is not a folder inside the session's workspace"))
            }
            relative = resolved == files.root ? nil : String(resolved.dropFirst(files.root.count + 1))
        }
        let limit = (params["outputByteLimit"] as? NSNumber).map { max(0, $0.intValue) }
        let terminal = terminals.create(command: line, outputLimit: limit)
        let timeout = configuration.terminalTimeoutSeconds
        let accepted = run.requestCommand(line, cwd: relative, timeoutSeconds: timeout, environment: environment) { [terminals] result in
            guard let (waiters, exit) = terminals.finish(terminal, result: result, timeoutSeconds: timeout) else { return }
            for waiter in waiters { connection.respond(waiter, result: exit.json) }
        }
        guard accepted else {
            _ = terminals.release(terminal)
            return connection.respond(id, error: RPCError(code: RPCError.internalError, message: "the gateway did not take the command"))
        }
        connection.respond(id, result: ["terminalId": terminal])
    }

    // MARK: - Events and the agent's error output

    func emit(_ type: String, _ fields: [String: Any]) {
        run.emit(type, fields)
    }

    private static let stderrEventLimit = 1 << 20

    /// Error output: complete lines go to the host log and (by default) `x-acp.stderr` events, up to
    /// 1 MiB per run; the last 2 KiB are kept for the failure message.
    private func recordStandardError(_ chunk: [UInt8]) {
        state.lock()
        stderrTail.append(contentsOf: chunk)
        guard let lastNewline = stderrTail.lastIndex(of: 0x0A) ?? (stderrTail.count > 16_384 ? stderrTail.count - 1 : nil) else {
            state.unlock()
            return
        }
        let lines = Array(stderrTail[...lastNewline])
        stderrTail.removeFirst(lastNewline + 1)
        let budget = Self.stderrEventLimit - stderrRecorded
        stderrRecorded += lines.count
        keepErrorTail(lines)
        state.unlock()
        publishStandardError(lines, budget: budget)
    }

    private func flushStandardError() {
        state.lock()
        let rest = stderrTail
        stderrTail = []
        let budget = Self.stderrEventLimit - stderrRecorded
        stderrRecorded += rest.count
        keepErrorTail(rest)
        state.unlock()
        if !rest.isEmpty { publishStandardError(rest, budget: budget) }
    }

    private var errorTail: [UInt8] = []

    private func keepErrorTail(_ bytes: [UInt8]) {
        errorTail.append(contentsOf: bytes)
        if errorTail.count > 2_048 { errorTail.removeFirst(errorTail.count - 2_048) }
    }

    private func publishStandardError(_ bytes: [UInt8], budget: Int) {
        let text = String(decoding: bytes, as: UTF8.self)
        host.log(.info, "ACP agent (run \(run.id)): \(text.trimmingCharacters(in: .whitespacesAndNewlines))")
        guard configuration.stderrEvents, budget > 0 else { return }
        if bytes.count > budget {
            emit("x-acp.stderr", ["text": String(decoding: bytes.prefix(budget), as: UTF8.self)])
            emit("status", ["message": "the agent's error output is no longer stored (over 1 MiB this run); it still reaches the host log"])
        } else {
            emit("x-acp.stderr", ["text": text])
        }
    }

    /// The last lines of the agent's error output, for a failure message.
    private func stderrExcerpt() -> String {
        flushStandardError()
        state.lock()
        let text = String(decoding: errorTail, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        state.unlock()
        guard !text.isEmpty else { return "" }
        let lines = text.split(separator: "\n").suffix(5).joined(separator: "\n")
        return "; its last error output: \(lines)"
    }
}

/// The line splitter, owned by the output reader's thread.
final class SplitterBox: @unchecked Sendable {
    private var splitter: LineSplitter
    init(_ splitter: LineSplitter) { self.splitter = splitter }
    func take(_ chunk: [UInt8]) -> Bool { splitter.take(chunk) }
}
