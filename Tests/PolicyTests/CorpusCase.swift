import Foundation
import HostTestSupport
import TOMLKit

/// One case of the public `destructive_command_guard` regression corpus (see Fixtures/dcg-corpus/README.md).
struct CorpusCase: CustomTestStringConvertible, Sendable {
    var file: String
    var index: Int
    var command: String
    /// "deny" means some destructive rule matched, whatever its severity; "allow" means none did.
    var expectsMatch: Bool
    var ruleID: String?
    var description: String?

    var testDescription: String { "\(file)#\(index): \(command.prefix(60))" }

    static let directory = TestPaths.packageRoot.appendingPathComponent("Tests/PolicyTests/Fixtures/dcg-corpus")

    static func load() throws -> [CorpusCase] {
        let files = try FileManager.default.subpathsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".toml") }.sorted()
        var cases: [CorpusCase] = []
        for file in files {
            let table = try TOMLTable(string: String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8))
            guard let array = table["case"]?.array else { continue }
            for (index, value) in array.enumerated() {
                guard let entry = value.table, let command = entry["command"]?.string else { continue }
                let expected = entry["expected"]?.string ?? entry["expected_decision"]?.string ?? "allow"
                let rule = entry["rule_id"]?.string ?? entry["expected_log"]?.table?["rule_id"]?.string
                cases.append(CorpusCase(file: file, index: index, command: command, expectsMatch: expected == "deny",
                                        ruleID: rule, description: entry["description"]?.string))
            }
        }
        return cases
    }
}

import Testing
