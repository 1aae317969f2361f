import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// The outermost middleware: gives each request an id (the client's `X-Request-ID` when it is a
/// sensible token, else a new one), puts it in the log metadata and on the response, and turns
/// every error into the API's JSON error body. A 500 is logged with the error; its body shows none
/// of it.
struct APIResponseMiddleware: RouterMiddleware {
    typealias Context = APIRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let requestID = request.headers[.xRequestID].flatMap(Self.acceptable) ?? Self.newID()
        context.requestID = requestID
        context.logger[metadataKey: "flywheel.request.id"] = .string(requestID)
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            let apiError = APIError(error)
            if apiError.status == .internalServerError {
                context.logger.error("request failed", metadata: ["error": .string(String(reflecting: error)),
                                                                 "flywheel.route": .string(request.uri.path)])
            }
            response = try apiError.response(from: request, context: context)
        }
        response.headers[.xRequestID] = requestID
        return response
    }

    /// A client's id is kept when it is 1-128 visible ASCII characters without spaces.
    static func acceptable(_ id: String) -> String? {
        guard (1...128).contains(id.utf8.count), id.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else { return nil }
        return id
    }

    static func newID() -> String {
        UUID().uuidString.lowercased()
    }
}

extension HTTPField.Name {
    static let xRequestID = HTTPField.Name("X-Request-ID")!
}
