import Dispatch
import HummingbirdBcrypt

/// bcrypt, run on a queue of its own: a hash takes a quarter of a second at the default cost, which
/// must never hold a thread of Swift's cooperative pool.
struct PasswordHasher: Sendable {
    let cost: UInt8

    private static let queue = DispatchQueue(label: "flywheel.passwords", qos: .userInitiated, attributes: .concurrent)

    func hash(_ password: String) async -> String {
        let cost = cost
        return await Self.offPool { Bcrypt.hash(password, cost: cost) }
    }

    func verify(_ password: String, hash: String) async -> Bool {
        await Self.offPool { Bcrypt.verify(password, hash: hash) }
    }

    private static func offPool<T: Sendable>(_ work: @escaping @Sendable () -> T) async -> T {
        await withCheckedContinuation { continuation in
            queue.async { continuation.resume(returning: work()) }
        }
    }
}
