import Foundation

/// A value behind a pthread mutex (`NSLock`), for state shared between threads and tasks.
///
/// Used instead of the standard library's `Mutex` on purpose: on Linux a contended `Mutex` is taken
/// inside the kernel (priority-inheriting futex), where the thread sanitizer cannot see it, so every
/// contended access it guards is reported as a race. The sanitizer understands pthread mutexes, and
/// the uncontended cost is the same.
final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) {
        self.value = value
    }

    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
