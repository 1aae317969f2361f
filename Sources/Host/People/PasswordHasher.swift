import Crypto
import Dispatch
import Foundation
import HummingbirdBcrypt

/// bcrypt, run on a queue of its own: a hash takes a quarter of a second at the default cost, which
/// must never hold a thread of Swift's cooperative pool.
///
/// bcrypt reads at most 72 bytes, so the password is first reduced to its SHA-256 digest (base64,
/// 44 bytes): every character of a long password counts, and no length rule has to be in bytes.
struct PasswordHasher: Sendable {
    let cost: UInt8

    private static let queue = DispatchQueue(label: "flywheel.passwords", qos: .userInitiated, attributes: .concurrent)

    func hash(_ password: String) async -> String {
        let cost = cost
        let digest = Self.digest(password)
        return await Self.offPool { Bcrypt.hash(digest, cost: cost) }
    }

    func verify(_ password: String, hash: String) async -> Bool {
        let digest = Self.digest(password)
        return await Self.offPool { Bcrypt.verify(digest, hash: hash) }
    }

    static func digest(_ password: String) -> String {
        Data(SHA256.hash(data: Array(password.utf8))).base64EncodedString()
    }

    private static func offPool<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: work()) }
        }
    }
}
