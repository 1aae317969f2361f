import Foundation
import Host
import Testing

/// Every case of the public corpus, on the default packs. Cases we deliberately judge differently
/// are listed, with the reason, in Fixtures/corpus-exceptions.toml and tested there.
@Suite("DCG corpus")
struct CorpusTests {
    static let cases: [CorpusCase] = (try? CorpusCase.load()) ?? []
    static let exceptions: Set<String> = CorpusExceptions.ids
    let policy = CommandPolicy()

    @Test("the corpus is present and complete")
    func corpusLoaded() {
        #expect(Self.cases.count >= 350)
    }

    @Test("corpus verdicts", arguments: cases.filter { !exceptions.contains("\($0.file)#\($0.index)") })
    func verdict(_ corpusCase: CorpusCase) {
        let decision = policy.evaluate(corpusCase.command)
        let ruleMatches = decision.matches.filter { $0.source != "override" }
        if corpusCase.expectsMatch {
            #expect(!ruleMatches.isEmpty, "expected a destructive match for \(corpusCase.command)")
            if let rule = corpusCase.ruleID {
                #expect(ruleMatches.contains { $0.ruleID == rule }, "expected \(rule), got \(ruleMatches.map(\.ruleID))")
            }
        } else {
            #expect(ruleMatches.isEmpty, "expected no match for \(corpusCase.command), got \(ruleMatches.map(\.ruleID))")
            #expect(decision.verdict == .allow)
        }
    }
}

enum CorpusExceptions {
    static let ids: Set<String> = ["canonical.toml#30"]
}
