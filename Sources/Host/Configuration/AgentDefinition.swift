import Foundation
import TOMLKit

/// An agent as an operator writes it in a TOML file: which driver, its config, where it works.
///
/// ```toml
/// name = "reviewer"
/// driver = "flywheel.sdk"
/// workspace = "workspaces/reviewer"   # optional; relative to this file
/// [config]                            # handed to the driver's create_driver
/// provider = "anthropic"
/// [env]                               # added to the clean environment of the agent's commands
/// CI = "1"
/// [sandbox]                           # optional; the gateway's [sandbox] network otherwise
/// network = false
/// ```
public struct AgentDefinition: Sendable, Equatable {
    public var name: String
    public var driverID: String
    public var workspace: URL?
    /// The driver configuration, a JSON object.
    public var configJSON: String
    public var environment: [String: String]
    /// Whether the agent's sandboxed commands may reach the network; nil: the gateway's default.
    public var network: Bool?

    public init(name: String, driverID: String, workspace: URL? = nil, configJSON: String = "{}", environment: [String: String] = [:],
                network: Bool? = nil) {
        self.network = network
        self.name = name
        self.driverID = driverID
        self.workspace = workspace
        self.configJSON = configJSON
        self.environment = environment
    }

    /// Agent names: 1 to 64 of `[A-Za-z0-9._-]`.
    public static func isValidName(_ name: String) -> Bool {
        (1...64).contains(name.utf8.count) && name.utf8.allSatisfy { byte in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || byte == UInt8(ascii: ".")
                || byte == UInt8(ascii: "_") || byte == UInt8(ascii: "-")
        }
    }

    public static func load(contentsOf file: URL) throws(ConfigurationError) -> AgentDefinition {
        let reader = try TOMLReader.open(file)
        let table = reader.table, text = reader.text
        try reader.allowKeys(["name", "driver", "workspace", "config", "env", "sandbox"])
        guard let driver = try reader.string("driver"), DriverDescriptor.isValidID(driver) else {
            throw ConfigurationError(file: file.path, line: TOMLLines.line(ofKey: "driver", in: text),
                                     reason: "driver: required, a driver id such as \"flywheel.sdk\"")
        }
        let name = try reader.string("name") ?? file.deletingPathExtension().lastPathComponent
        guard isValidName(name) else { throw reader.error("name", "must be 1 to 64 of [A-Za-z0-9._-]") }
        var definition = AgentDefinition(name: name, driverID: driver)
        if let workspace = try reader.string("workspace") {
            definition.workspace = GatewayConfiguration.resolve(workspace, against: file.deletingLastPathComponent())
        }
        if let config = table["config"] {
            guard let configTable = config.table else { throw reader.error("config", "must be a table") }
            definition.configJSON = configTable.convert(to: .json)
        }
        if let env = try reader.table("env") {
            for key in env.table.keys {
                guard let value = try env.string(key) else { continue }
                definition.environment[key] = value
            }
        }
        if let sandbox = try reader.table("sandbox") {
            try sandbox.allowKeys(["network"])
            definition.network = try sandbox.bool("network")
        }
        return definition
    }

    /// Applies `key=value` overrides to the config object. A value that parses as JSON is used as
    /// JSON (`retries=3`, `tools=["git"]`); anything else is a string.
    public func overridingConfig(_ assignments: [String]) throws(ConfigurationError) -> AgentDefinition {
        guard !assignments.isEmpty else { return self }
        var object = (try? JSONSerialization.jsonObject(with: Data(configJSON.utf8)) as? [String: Any]) ?? [:]
        for assignment in assignments {
            guard let equals = assignment.firstIndex(of: "="), equals != assignment.startIndex else {
                throw ConfigurationError(file: "--config", reason: "'\(assignment)' is not key=value")
            }
            let key = String(assignment[..<equals])
            let raw = String(assignment[assignment.index(after: equals)...])
            object[key] = (try? JSONSerialization.jsonObject(with: Data(raw.utf8), options: [.fragmentsAllowed])) ?? raw
        }
        var copy = self
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        copy.configJSON = String(decoding: data, as: UTF8.self)
        return copy
    }
}
