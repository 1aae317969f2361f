import Foundation

/// The hand-over point between a driver's threads and the host for one run.
///
/// Producers (driver threads, through the C callbacks) append under a lock and never wait for the
/// consumer, except when the queue holds `capacity` items already: then they wait until it drains,
/// which bounds the host's memory when a driver emits faster than events can be stored. Producers
/// are always driver threads or the host's per-instance driver threads, never Swift's cooperative
/// pool, so that wait never stalls other sessions. The consumer takes everything queued at once, so
/// one wake-up serves a whole burst.
///
/// After the run's terminal event the queue is *sealed*: the consumer still drains it, but every
/// later push is refused at once.
final class RunQueue: @unchecked Sendable {
    private let condition = NSCondition()
    private var items: [DriverRunItem] = []
    private var closed = false
    private var sealed = false
    private var consumer: CheckedContinuation<Void, Never>?
    private let capacity: Int

    init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// Appends an item; false when the queue was closed or sealed (the run has ended). With
    /// `seal`, the item is the last one the queue accepts.
    func push(_ item: DriverRunItem, seal: Bool = false) -> Bool {
        condition.lock()
        while items.count >= capacity && !closed && !sealed {
            condition.wait()
        }
        if closed || sealed {
            condition.unlock()
            return false
        }
        if seal { sealed = true }
        items.append(item)
        let waiting = consumer
        consumer = nil
        condition.unlock()
        waiting?.resume()
        return true
    }

    var isClosed: Bool {
        condition.lock()
        defer { condition.unlock() }
        return closed
    }

    /// Whether the queue still accepts items.
    var isAccepting: Bool {
        condition.lock()
        defer { condition.unlock() }
        return !closed && !sealed
    }

    /// Waits for items and takes all of them; nil once the queue is closed and empty.
    func next() async -> [DriverRunItem]? {
        while true {
            if let batch = takeAll() { return batch.isEmpty ? nil : batch }
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    condition.lock()
                    if items.isEmpty && !closed && !Task.isCancelled {
                        consumer = continuation
                        condition.unlock()
                    } else {
                        condition.unlock()
                        continuation.resume()
                    }
                }
            } onCancel: {
                wakeConsumer()
            }
            if Task.isCancelled {
                let batch = takeAll()
                return batch?.isEmpty == false ? batch : nil
            }
        }
    }

    /// Closes the queue: later pushes fail and waiting producers are released. Returns what was still
    /// queued, so the caller can answer command requests in it.
    @discardableResult
    func close() -> [DriverRunItem] {
        condition.lock()
        closed = true
        let rest = items
        items = []
        let waiting = consumer
        consumer = nil
        condition.broadcast()
        condition.unlock()
        waiting?.resume()
        return rest
    }

    /// Everything queued, an empty array when closed and drained, nil when open and empty.
    private func takeAll() -> [DriverRunItem]? {
        condition.lock()
        defer { condition.unlock() }
        if !items.isEmpty {
            let batch = items
            items = []
            items.reserveCapacity(min(batch.count, 1024))
            condition.broadcast()
            return batch
        }
        return closed ? [] : nil
    }

    private func wakeConsumer() {
        condition.lock()
        let waiting = consumer
        consumer = nil
        condition.unlock()
        waiting?.resume()
    }
}
