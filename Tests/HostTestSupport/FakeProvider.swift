import Foundation

/// A local HTTP server standing in for an LLM provider (Tests/Fixtures/llm/fake_provider.py): it
/// answers each request with the next scripted response, in the chunks the test chose, and logs
/// what it received. The responses replay the providers' documented formats.
public final class FakeProvider: @unchecked Sendable {
    public let directory: TemporaryDirectory
    public let process: Process
    public let port: Int
    public var baseURL: String { "http://127.0.0.1:\(port)" }

    public init(_ responses: [[String: Any]]) async throws {
        directory = try TemporaryDirectory("provider")
        let script = try JSONSerialization.data(withJSONObject: ["responses": responses])
        try script.write(to: directory.file("script.json"))
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", TestPaths.packageRoot.appendingPathComponent("Tests/Fixtures/llm/fake_provider.py").path,
                             directory.file("script.json").path, directory.file("log.jsonl").path, directory.file("port").path]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        for _ in 0..<500 {
            if let text = try? String(contentsOf: directory.file("port"), encoding: .utf8), let number = Int(text) {
                port = number
                return
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        kill(process.processIdentifier, SIGKILL)
        throw SessionHarness.Timeout(description: "the fake provider did not start")
    }

    /// Every log line, in order.
    public func log() throws -> [[String: Any]] {
        guard let text = try? String(contentsOf: directory.file("log.jsonl"), encoding: .utf8) else { return [] }
        return try text.split(separator: "\n").map { try JSONSerialization.jsonObject(with: Data($0.utf8)) as! [String: Any] }
    }

    /// The requests received, in order.
    public func requests() throws -> [[String: Any]] { try log().filter { $0["path"] != nil } }

    public func bodies() throws -> [[String: Any]] { try requests().map { $0["body"] as? [String: Any] ?? [:] } }

    public func headers(_ index: Int) throws -> [String: String] { try requests()[index]["headers"] as? [String: String] ?? [:] }

    /// Which hanging responses the client closed.
    public func closedByClient() throws -> [Int] {
        try log().filter { $0["event"] as? String == "client_closed" }.compactMap { $0["response"] as? Int }
    }

    /// Stops the server; harmless to call again.
    public func stop() {
        if process.isRunning {
            // SIGKILL: a child Foundation starts from a worker thread may inherit a mask that
            // blocks SIGTERM.
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        directory.remove()
    }
}
