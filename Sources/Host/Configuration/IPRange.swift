import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// An IP address or a CIDR range (`10.0.0.0/8`, `::1`, `fd00::/8`): which proxies `flywheel serve`
/// takes `X-Forwarded-For` from.
public struct IPRange: Sendable, Equatable, CustomStringConvertible {
    /// The network's bytes (4 for IPv4, 16 for IPv6) and how many leading bits must match.
    let network: [UInt8]
    let prefixLength: Int
    public let description: String

    /// Nil for text that is not an address or a range.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = Self.bytes(of: String(parts[0])) else { return nil }
        let bits = address.count * 8
        var length = bits
        if parts.count == 2 {
            guard let given = Int(parts[1]), (0...bits).contains(given), !parts[1].hasPrefix("+") else { return nil }
            length = given
        }
        network = address
        prefixLength = length
        description = text
    }

    /// Whether `address` (text, as a peer or a header gives it) is in the range.
    public func contains(_ address: String) -> Bool {
        guard let bytes = Self.bytes(of: address), bytes.count == network.count else { return false }
        var remaining = prefixLength
        for (have, want) in zip(bytes, network) where remaining > 0 {
            let mask: UInt8 = remaining >= 8 ? 0xFF : ~(0xFF >> UInt8(remaining))
            if have & mask != want & mask { return false }
            remaining -= 8
        }
        return true
    }

    /// An address's bytes, or nil when the text is not an IPv4 or IPv6 address.
    static func bytes(of text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }
}
