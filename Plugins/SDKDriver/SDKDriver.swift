import Foundation
import PluginKit

@_cdecl("flywheel_plugin_entry")
public func flywheelPluginEntry() -> UnsafeRawPointer {
    PluginExport.entry(for: SDKDriver.self)
}

/// Drives an LLM provider's API directly, with tool use. This version loads, checks its
/// configuration and answers runs; calling the provider's API is the SDK driver issue's work.
final class SDKDriver: Driver {
    static let info = DriverInfo(
        id: "flywheel.sdk", name: "SDK driver", version: "0.1.0", vendor: "Flywheel",
        summary: "Calls an LLM provider's API directly, with tool use.",
        capabilitiesJSON: #"{"config_schema":{"type":"object","properties":{"provider":{"enum":["anthropic","openai"]},"model":{"type":"string"},"base_url":{"type":"string"},"max_tokens":{"type":"integer"}}}}"#)

    struct Configuration: Decodable, Sendable {
        var provider: String = "anthropic"
        var model: String?
        var baseUrl: String?
        var maxTokens: Int?

        enum CodingKeys: String, CodingKey { case provider, model, baseUrl, maxTokens }
        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            provider = try container.decodeIfPresent(String.self, forKey: .provider) ?? "anthropic"
            model = try container.decodeIfPresent(String.self, forKey: .model)
            baseUrl = try container.decodeIfPresent(String.self, forKey: .baseUrl)
            maxTokens = try container.decodeIfPresent(Int.self, forKey: .maxTokens)
        }
    }

    static let providers: Set<String> = ["anthropic", "openai"]

    let configuration: Configuration
    let runs = RunTable()

    init(configuration: DriverConfiguration, host: DriverHost) throws(DriverFailure) {
        let decoded = try configuration.decode(Configuration.self)
        guard Self.providers.contains(decoded.provider) else {
            throw .invalidConfig("provider '\(decoded.provider)' is not supported (use one of: \(Self.providers.sorted().joined(separator: ", ")))")
        }
        if let maxTokens = decoded.maxTokens, maxTokens <= 0 { throw .invalidConfig("max_tokens must be positive") }
        self.configuration = decoded
    }

    func execute(task: DriverTask, run: DriverRun) throws(DriverFailure) {
        let provider = configuration.provider
        let model = configuration.model ?? "the provider's default model"
        runs.start(run) { control in
            control.run.emit(.status("SDK driver for \(provider) (\(model)) received the task"))
            if control.isCancelled { return .cancelled }
            return .failed(error: "the SDK driver cannot call the \(provider) API yet", retryable: false)
        }
    }

    func cancel(runID: UInt64) throws(DriverFailure) { try runs.cancel(runID) }

    func shutdown() { runs.shutdown() }
}
