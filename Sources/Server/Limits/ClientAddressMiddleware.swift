import Foundation
import Host
import HTTPTypes
import Hummingbird

/// Behind a trusted proxy, the client is the one `X-Forwarded-For` names: the right-most address
/// in it that is not itself a trusted proxy (each proxy appends the peer it saw, so addresses
/// further left were written by the client and prove nothing). A request from any other peer keeps
/// its peer address, whatever the header says. Likewise `X-Forwarded-Proto: https` from a trusted
/// proxy tells that the client's request came over HTTPS.
struct ClientAddressMiddleware: RouterMiddleware {
    typealias Context = APIRequestContext
    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!
    static let forwardedProto = HTTPField.Name("X-Forwarded-Proto")!
    let trusted: [IPRange]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !trusted.isEmpty, let peer = context.clientAddress, isTrusted(peer) else { return try await next(request, context) }
        var context = context
        context.clientAddress = Self.client(forwardedFor: request.headers[values: Self.forwardedFor], peer: peer, isTrusted: isTrusted)
        // The scheme the nearest proxy saw: the last value, as proxies append theirs.
        let scheme = request.headers[values: Self.forwardedProto].flatMap { $0.split(separator: ",") }.last
        context.forwardedHTTPS = scheme?.trimmingCharacters(in: .whitespaces).lowercased() == "https"
        return try await next(request, context)
    }

    private func isTrusted(_ address: String) -> Bool {
        trusted.contains { $0.contains(address) }
    }

    /// The client address from the header's values (a request may carry several), right to left.
    static func client(forwardedFor values: [String], peer: String, isTrusted: (String) -> Bool) -> String {
        let hops = values.flatMap { $0.split(separator: ",") }.map { $0.trimmingCharacters(in: .whitespaces) }
        for hop in hops.reversed() {
            // A hop that is not an address (garbage, `unknown`) ends the chain we can vouch for.
            guard IPRange(hop) != nil, !hop.contains("/") else { return peer }
            if !isTrusted(hop) { return hop }
        }
        return peer
    }
}
