import AsyncHTTPClient
import Foundation
import NIOCore
import PluginKit
import Synchronization

@_cdecl("flywheel_plugin_entry")
public func flywheelPluginEntry() -> UnsafeRawPointer {
    PluginExport.entry(for: SDKDriver.self)
}

/// Drives an LLM provider's API directly: Anthropic's Messages API or OpenAI's Chat Completions
/// API (and servers compatible with it), streamed, with a tool-use loop whose every command goes
/// through the gateway's command policy. See docs/sdk-driver.md.
final class SDKDriver: CheckpointingDriver, InstanceCapabilitiesDriver {
    static let info = DriverInfo(
        id: "flywheel.sdk", name: "SDK driver", version: "1.0.0", vendor: "Flywheel",
        summary: "Calls an LLM provider's API directly (Anthropic Messages, OpenAI Chat Completions), with tool use.",
        capabilitiesJSON: #"{"config_schema":{"type":"object","required":["model"],"additionalProperties":false,"properties":{"provider":{"enum":["anthropic","openai"]},"account_provider":{"type":"string"},"model":{"type":"string"},"base_url":{"type":"string"},"max_tokens":{"type":"integer"},"system_prompt":{"type":"string"},"connect_timeout_seconds":{"type":"number"},"read_timeout_seconds":{"type":"number"},"request_timeout_seconds":{"type":"number"},"max_steps":{"type":"integer"},"max_total_tokens":{"type":"integer"},"budget_usd":{"type":"number"},"prices":{"type":"object"},"file_tools":{"type":"boolean"},"max_file_bytes":{"type":"integer"},"command_timeout_seconds":{"type":"number"},"max_tool_output_bytes":{"type":"integer"},"max_retries":{"type":"integer"},"retry_delay_seconds":{"type":"number"},"max_retry_delay_seconds":{"type":"number"},"prompt_caching":{"type":"boolean"},"anthropic_version":{"type":"string"}}}}"#)

    let configuration: SDKConfiguration
    let host: DriverHost
    let runs = RunTable()
    private let active = Mutex<[UInt64: SDKRun]>([:])
    /// Made at the first run (create_driver starts no threads) and shut down with the instance.
    private let httpClient = Mutex<HTTPClient?>(nil)

    init(configuration: DriverConfiguration, host: DriverHost) throws(DriverFailure) {
        self.configuration = try SDKConfiguration(json: configuration.json)
        self.host = host
    }

    var instanceCapabilitiesJSON: String { configuration.capabilitiesJSON }

    func execute(task: DriverTask, run: DriverRun) throws(DriverFailure) {
        try start(task: task, run: run, conversation: Conversation(task: task.prompt))
    }

    func resume(task: DriverTask, run: DriverRun, state: [UInt8]) throws(DriverFailure) {
        let conversation: Conversation
        do {
            conversation = try Conversation(checkpoint: state)
        } catch {
            throw .invalidArgument("the checkpoint cannot be read: \(error)")
        }
        try start(task: task, run: run, conversation: conversation)
    }

    private func start(task: DriverTask, run: DriverRun, conversation: Conversation) throws(DriverFailure) {
        guard let workspace = task.workspace, workspace.hasPrefix("/") else {
            throw .invalidArgument("the task has no absolute workspace: the SDK driver's commands run there")
        }
        let provider = configuration.accountProvider
        // Registered before execute returns, so a checkpoint asked for at once finds the run.
        let sdk = Self.apiKey(task.json).map { key in
            SDKRun(configuration: configuration, run: run, host: host, client: client(), apiKey: key, workspace: workspace, conversation: conversation)
        }
        if let sdk { active.withLock { $0[run.id] = sdk } }
        runs.startTask(run) { [self] _ in
            defer { _ = active.withLock { $0.removeValue(forKey: run.id) } }
            guard let sdk else {
                return .failed(error: "no \(provider) account came with the task: add one with flywheel accounts add --provider \(provider) (its credentials need an api_key)", retryable: false)
            }
            return await sdk.perform()
        }
    }

    /// `account.credentials.api_key` of the task (never logged).
    static func apiKey(_ taskJSON: String) -> String? {
        guard let task = WireJSON.object(taskJSON), let account = task["account"] as? [String: Any],
              let credentials = account["credentials"] as? [String: Any], let key = credentials["api_key"] as? String,
              !key.isEmpty else { return nil }
        return key
    }

    private func client() -> HTTPClient {
        httpClient.withLock { client in
            if let client { return client }
            var settings = HTTPClient.Configuration(
                redirectConfiguration: .disallow,
                timeout: .init(connect: .milliseconds(Int64(configuration.connectTimeout * 1000)),
                               read: .milliseconds(Int64(configuration.readTimeout * 1000))))
            settings.httpVersion = .automatic
            let made = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: settings)
            client = made
            return made
        }
    }

    func saveCheckpoint(runID: UInt64) throws(DriverFailure) -> [UInt8] {
        guard let sdk = active.withLock({ $0[runID] }) else { throw .notFound }
        return sdk.checkpoint
    }

    func cancel(runID: UInt64) throws(DriverFailure) { try runs.cancel(runID) }

    func shutdown() {
        runs.shutdown()
        // destroy runs on the host's thread for this instance, never on an event loop or in a task.
        if let client = httpClient.withLock({ $0.take() }) {
            do {
                try client.syncShutdown()
            } catch {
                host.log(.warning, "the SDK driver's HTTP client did not shut down cleanly: \(error)")
            }
        }
    }
}
