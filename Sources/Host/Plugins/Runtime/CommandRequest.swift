import Foundation

/// A driver's `flywheel.command-request/1` document, checked.
public struct CommandRequest: Sendable, Equatable {
    public var command: String
    /// Relative to the session workspace.
    public var cwd: String?
    /// May be fractional.
    public var timeoutSeconds: Double?
    public var environment: [String: String]
    /// False for a decision-only request (ABI 1.1): the host judges and records the command, runs
    /// nothing, and the driver runs an allowed command itself (typed into its agent's terminal, say).
    public var execute: Bool

    public init(command: String, cwd: String? = nil, timeoutSeconds: Double? = nil, environment: [String: String] = [:],
                execute: Bool = true) {
        self.execute = execute
        self.command = command
        self.cwd = cwd
        self.timeoutSeconds = timeoutSeconds
        self.environment = environment
    }

    /// Why a request document was refused.
    public struct Invalid: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    /// The largest timeout a request may name (a day); the host's own limit is usually lower.
    public static let maximumTimeoutSeconds = 86_400.0

    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(Invalid) -> CommandRequest {
        let document: JSONValue
        do {
            document = try JSONValue.parse(bytes)
        } catch {
            throw Invalid(description: "a command request is not valid JSON: \(error)")
        }
        guard let object = document.objectValue else {
            throw Invalid(description: "a command request must be a JSON object, not \(document.kind)")
        }
        guard let command = object["command"]?.stringValue, !command.isEmpty else {
            throw Invalid(description: "'command' must be a non-empty string")
        }
        var request = CommandRequest(command: command)
        if let cwd = object["cwd"], !cwd.isNull {
            guard let value = cwd.stringValue else { throw Invalid(description: "'cwd' must be a string, not \(cwd.kind)") }
            request.cwd = value
        }
        if let timeout = object["timeout_seconds"], !timeout.isNull {
            guard let value = timeout.numberValue else {
                throw Invalid(description: "'timeout_seconds' must be a number, not \(timeout.kind)")
            }
            guard value > 0, value <= maximumTimeoutSeconds else {
                throw Invalid(description: "'timeout_seconds' must be more than 0 and at most \(Int(maximumTimeoutSeconds)), not \(value)")
            }
            request.timeoutSeconds = value
        }
        if let env = object["env"], !env.isNull {
            guard let table = env.objectValue else { throw Invalid(description: "'env' must be an object of strings, not \(env.kind)") }
            for (name, value) in table {
                guard let text = value.stringValue else { throw Invalid(description: "env '\(name)' must be a string, not \(value.kind)") }
                request.environment[name] = text
            }
        }
        if let execute = object["execute"], !execute.isNull {
            guard let value = execute.boolValue else { throw Invalid(description: "'execute' must be true or false, not \(execute.kind)") }
            request.execute = value
        }
        return request
    }
}
