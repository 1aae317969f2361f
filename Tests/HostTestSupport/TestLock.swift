import Foundation

/// A value behind an NSLock, for tests that collect from several tasks. (Synchronization's Mutex
/// draws false reports from the thread sanitizer on Linux when contended, which would hide real ones.)
public final class TestLock<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value

    public init(_ value: Value) {
        self.value = value
    }

    public func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
