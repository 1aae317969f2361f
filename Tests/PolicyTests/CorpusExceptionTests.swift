import Foundation
import Host
import HostTestSupport
import TOMLKit
import Testing

/// The documented exceptions: we decide what the exceptions file says, for the reason it gives.
@Suite("DCG corpus exceptions")
struct CorpusExceptionTests {
    struct Exception: Sendable {
        var caseID: String
        var command: String
        var decision: String
        var ruleID: String
    }

    static func load() throws -> [Exception] {
        let file = TestPaths.packageRoot.appendingPathComponent("Tests/PolicyTests/Fixtures/corpus-exceptions.toml")
        let table = try TOMLTable(string: String(contentsOf: file, encoding: .utf8))
        return (table["exception"]?.array ?? []).compactMap { value in
            guard let entry = value.table, let id = entry["case"]?.string, let command = entry["command"]?.string,
                  let decision = entry["decision"]?.string, let rule = entry["rule_id"]?.string else { return nil }
            return Exception(caseID: id, command: command, decision: decision, ruleID: rule)
        }
    }

    @Test("each exception names a real corpus case and we decide what it says")
    func exceptions() throws {
        let exceptions = try Self.load()
        #expect(Set(exceptions.map(\.caseID)) == CorpusExceptions.ids)
        let cases = try CorpusCase.load()
        for exception in exceptions {
            let corpusCase = try #require(cases.first { "\($0.file)#\($0.index)" == exception.caseID })
            #expect(corpusCase.command == exception.command)
            let decision = CommandPolicy().evaluate(exception.command)
            #expect(decision.verdict.rawValue == exception.decision)
            #expect(decision.ruleID == exception.ruleID)
        }
    }
}
