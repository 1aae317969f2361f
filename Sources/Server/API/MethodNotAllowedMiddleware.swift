import Hummingbird
import HTTPTypes

/// Turns the router's 404 for a path that exists under other methods into 405
/// `METHOD_NOT_ALLOWED` with an `Allow` header naming them.
struct MethodNotAllowedMiddleware: RouterMiddleware {
    typealias Context = APIRequestContext

    /// Each route's path split into parts (`nil` for a parameter), with its methods.
    let patterns: [(parts: [Substring?], methods: Set<String>)]

    init(routes: [Router<APIRequestContext>.RouteDescription]) {
        var byPath: [String: Set<String>] = [:]
        for route in routes { byPath["\(route.path)", default: []].insert("\(route.method)") }
        patterns = byPath.map { path, methods in
            (path.split(separator: "/").map { $0.hasPrefix(":") || $0.hasPrefix("{") ? nil : $0 }, methods)
        }
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            let parts = request.uri.path.split(separator: "/")
            let allowed = patterns.filter { pattern in
                pattern.parts.count == parts.count && zip(pattern.parts, parts).allSatisfy { $0 == nil || $0 == $1 }
            }.reduce(into: Set<String>()) { $0.formUnion($1.methods) }
            guard !allowed.isEmpty else { throw error }
            var refusal = APIError(.methodNotAllowed, "METHOD_NOT_ALLOWED", "\(request.method) is not allowed here; use \(allowed.sorted().joined(separator: ", "))")
            refusal.headers = [(.allow, allowed.sorted().joined(separator: ", "))]
            throw refusal
        }
    }
}
