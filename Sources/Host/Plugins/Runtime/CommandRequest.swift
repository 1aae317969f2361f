import Foundation

/// A driver's `flywheel.command-request/1` document, checked.
public struct CommandRequest: Sendable, Equatable {
    public var command: String
    /// Relative to the session workspace.
    public var cwd: String?
    public var timeoutSeconds: Double?
    public var environment: [String: String]

    public init(command: String, cwd: String? = nil, timeoutSeconds: Double? = nil, environment: [String: String] = [:]) {
        self.command = command
        self.cwd = cwd
        self.timeoutSeconds = timeoutSeconds
        self.environment = environment
    }

    /// Why a request document was refused.
    public struct Invalid: Error, Sendable, CustomStringConvertible {
        public var description: String
    }

    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(Invalid) -> CommandRequest {
        let object: [String: Any]
        do {
            guard let parsed = try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any] else {
                throw Invalid(description: "a command request must be a JSON object")
            }
            object = parsed
        } catch let invalid as Invalid {
            throw invalid
        } catch {
            throw Invalid(description: "a command request is not valid JSON: \((error as NSError).localizedDescription)")
        }
        guard let command = object["command"] as? String, !command.isEmpty else {
            throw Invalid(description: "'command' must be a non-empty string")
        }
        var request = CommandRequest(command: command)
        if let cwd = object["cwd"], !(cwd is NSNull) {
            guard let value = cwd as? String else { throw Invalid(description: "'cwd' must be a string") }
            request.cwd = value
        }
        if let timeout = object["timeout_seconds"], !(timeout is NSNull) {
            guard let value = (timeout as? NSNumber)?.doubleValue, value > 0, value.isFinite, !(timeout is Bool) else {
                throw Invalid(description: "'timeout_seconds' must be a positive number")
            }
            request.timeoutSeconds = value
        }
        if let env = object["env"], !(env is NSNull) {
            guard let table = env as? [String: Any] else { throw Invalid(description: "'env' must be an object of strings") }
            for (name, value) in table {
                guard let text = value as? String else { throw Invalid(description: "env '\(name)' must be a string") }
                request.environment[name] = text
            }
        }
        return request
    }
}
