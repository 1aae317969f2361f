import Foundation
import Host
import HTTPTypes
import Hummingbird

/// JSON as the API writes it: ISO 8601 times with milliseconds, sorted keys.
enum APIJSON {
    static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .custom { date, encoder in
            var container = encoder.singleValueContainer()
            try container.encode(APITime.string(date))
        }
        return encoder
    }()

    static func response<T: Encodable>(_ value: T, status: HTTPResponse.Status = .ok) throws -> Response {
        response(ByteBuffer(bytes: try encoder.encode(value)), status: status)
    }

    /// The same bytes as `encoder` would write, from the type's own writer.
    static func response<T: DirectJSON>(_ value: T, status: HTTPResponse.Status = .ok) -> Response {
        var writer = JSONBytes()
        value.write(to: &writer)
        return response(writer.buffer, status: status)
    }

    private static func response(_ body: ByteBuffer, status: HTTPResponse.Status) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: body))
    }
}

/// A request body the API accepts: its fields are listed so that an unknown one is refused by name
/// instead of silently ignored.
protocol APIRequestBody: Decodable, Sendable {
    static var fields: Set<String> { get }
}

extension Request {
    /// The body decoded strictly: JSON only (415 otherwise), at most `limit` bytes (413), an object
    /// with no field the type does not know (400 `UNKNOWN_FIELD`), and each field of the right type
    /// (400 `MISSING_FIELD` / `INVALID_FIELD`, naming it).
    func decodeStrictly<T: APIRequestBody>(_ type: T.Type, limit: Int) async throws -> T {
        let contentType = headers[.contentType]?.lowercased() ?? ""
        guard contentType.hasPrefix("application/json") else {
            throw APIError(.unsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", "the body must be JSON", hint: "Send Content-Type: application/json")
        }
        let buffer = try await body.collect(upTo: limit)
        let data = Data(buffer.readableBytesView)
        guard let object = try? JSONSerialization.jsonObject(with: data, options: [.fragmentsAllowed]) else {
            throw APIError(.badRequest, "INVALID_JSON", "the body is not valid JSON")
        }
        guard let fields = object as? [String: Any] else {
            throw APIError(.badRequest, "INVALID_JSON", "the body must be a JSON object")
        }
        if let unknown = fields.keys.sorted().first(where: { !T.fields.contains($0) }) {
            throw APIError(.badRequest, "UNKNOWN_FIELD", "unknown field '\(unknown)'", hint: "Known fields: \(T.fields.sorted().joined(separator: ", "))",
                           field: unknown)
        }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch let error as DecodingError {
            throw APIError(decoding: error)
        }
    }
}

extension APIError {
    init(decoding error: DecodingError) {
        func path(_ codingPath: [any CodingKey], _ key: (any CodingKey)? = nil) -> String {
            (codingPath + (key.map { [$0] } ?? [])).map { $0.intValue.map(String.init) ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            let field = path(context.codingPath, key)
            self.init(.badRequest, "MISSING_FIELD", "missing field '\(field)'", field: field)
        case .typeMismatch(let type, let context):
            let field = path(context.codingPath)
            self.init(.badRequest, "INVALID_FIELD", "field '\(field)' must be \(Self.describe(type))", field: field)
        case .valueNotFound(let type, let context):
            let field = path(context.codingPath)
            self.init(.badRequest, "INVALID_FIELD", "field '\(field)' must be \(Self.describe(type)), not null", field: field)
        case .dataCorrupted(let context):
            let field = path(context.codingPath)
            self.init(.badRequest, "INVALID_FIELD", "field '\(field)': \(context.debugDescription)", field: field.isEmpty ? nil : field)
        @unknown default:
            self.init(.badRequest, "INVALID_JSON", "the body does not match the expected shape")
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        case is Int.Type, is Int64.Type: "an integer"
        case is Double.Type: "a number"
        default: "of another type (\(type))"
        }
    }
}
