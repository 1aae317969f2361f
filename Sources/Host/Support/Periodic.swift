/// Runs `body` now and then once every `interval`, until the task is cancelled (for the owner's
/// housekeeping: history retention, refresh-token cleanup).
func repeatUntilCancelled(every interval: Duration, _ body: () async -> Void) async {
    while !Task.isCancelled {
        await body()
        do {
            try await Task.sleep(for: interval)
        } catch {
            return
        }
    }
}
