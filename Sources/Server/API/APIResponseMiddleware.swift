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

    /// A random (version 4) UUID in lowercase, written out by hand (`uuidString` goes through
    /// `snprintf` and then needs lowercasing). Its bytes come from the system generator
    /// (`getrandom`): Foundation's `UUID()` here opened /dev/urandom on every request.
    static func newID() -> String {
        var generator = SystemRandomNumberGenerator()
        var random = (generator.next() as UInt64, generator.next() as UInt64)
        withUnsafeMutableBytes(of: &random) { bytes in
            bytes[6] = (bytes[6] & 0x0F) | 0x40  // version 4
            bytes[8] = (bytes[8] & 0x3F) | 0x80  // RFC 4122 variant
        }
        return withUnsafeBytes(of: random) { bytes in
            String(unsafeUninitializedCapacity: 36) { buffer in
                var index = 0
                for (position, byte) in bytes.enumerated() {
                    if position == 4 || position == 6 || position == 8 || position == 10 {
                        buffer[index] = UInt8(ascii: "-")
                        index += 1
                    }
                    buffer[index] = hexDigit(byte >> 4)
                    buffer[index + 1] = hexDigit(byte & 0x0F)
                    index += 2
                }
                return index
            }
        }
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }
}

extension HTTPField.Name {
    static let xRequestID = HTTPField.Name("X-Request-ID")!
}
