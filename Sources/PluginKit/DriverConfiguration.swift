import Foundation

/// A JSON object handed to a driver: its configuration, or a task.
public struct DriverConfiguration: Sendable {
    /// The raw JSON text.
    public let json: String

    public init(json: String) {
        self.json = json
    }

    /// Decodes the document into a `Decodable` type (snake_case keys map to camelCase properties).
    public func decode<T: Decodable>(_ type: T.Type) throws(DriverFailure) -> T {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        do {
            return try decoder.decode(type, from: Data(json.utf8))
        } catch {
            throw .invalidConfig("configuration does not match: \(DriverConfiguration.describe(error))")
        }
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let key, _): "missing key '\(key.stringValue)'"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            "'\(context.codingPath.map(\.stringValue).joined(separator: "."))': \(context.debugDescription)"
        case DecodingError.dataCorrupted(let context): context.debugDescription
        default: String(describing: error)
        }
    }
}

/// A `flywheel.task/1` document.
public struct DriverTask: Sendable {
    public let json: String
    public let sessionID: String?
    public let prompt: String
    public let workspace: String?
    /// The leased account's label and provider; credentials stay in ``json`` and must never be logged.
    public let accountLabel: String?
    public let accountProvider: String?

    init(json: String) throws(DriverFailure) {
        struct Account: Decodable { var provider: String?; var label: String? }
        struct Fields: Decodable { var sessionId: String?; var prompt: String?; var workspace: String?; var account: Account? }
        let fields: Fields
        do {
            fields = try DriverConfiguration(json: json).decode(Fields.self)
        } catch {
            throw .invalidArgument("the task is not a flywheel.task/1 document: \(error.message)")
        }
        self.json = json
        self.sessionID = fields.sessionId
        self.prompt = fields.prompt ?? ""
        self.workspace = fields.workspace
        self.accountLabel = fields.account?.label
        self.accountProvider = fields.account?.provider
    }
}
