import Foundation
import Host

/// The `dcg check --stdin --jsonl` wire: one JSON object per line in, one decision per line out,
/// read and written without a Foundation JSON round trip per line, and output written in one
/// `write` per chunk of input (so a client that sends a line and waits still gets its answer at
/// once, and a batch of 70,000 lines is not 70,000 writes).
enum DecisionLines {
    /// The string `command` of a JSON object line; nil when the line is not valid JSON, not an
    /// object, or has no string `command`.
    static func command(in line: ArraySlice<UInt8>) -> String? {
        // The usual line, `{"command":"…"}` with nothing to unescape, without building a document.
        if line.count >= 14, line.starts(with: prefix), line.suffix(2).elementsEqual([UInt8(ascii: "\""), UInt8(ascii: "}")]) {
            let text = line[(line.startIndex + prefix.count)..<(line.endIndex - 2)]
            if !text.contains(where: { $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") || $0 < 0x20 }),
               let command = String(validating: text, as: UTF8.self) {
                return command
            }
        }
        guard let object = GuardJSON.parse(line), case .object = object else { return nil }
        return object["command"]?.stringValue
    }

    /// A decision as one JSON line (keys sorted, absent fields null), newline included.
    static func append(_ command: String, _ decision: PolicyDecision, to output: inout [UInt8]) {
        output.append(UInt8(ascii: "{"))
        let fields: [(String, String?)] = [
            ("alternative", decision.alternative), ("command", command), ("decision", decision.verdict.rawValue),
            ("matched", decision.matched), ("pack_id", decision.packID), ("reason", decision.reason), ("rule_id", decision.ruleID),
            ("severity", decision.severity?.rawValue), ("source", decision.source),
        ]
        for (index, (key, value)) in fields.enumerated() {
            if index > 0 { output.append(UInt8(ascii: ",")) }
            GuardJSON.appendString(key, to: &output)
            output.append(UInt8(ascii: ":"))
            if let value { GuardJSON.appendString(value, to: &output) } else { output.append(contentsOf: "null".utf8) }
        }
        output.append(contentsOf: "}\n".utf8)
    }

    private static let prefix = Array(#"{"command":""#.utf8)

    static let invalidLine = Array(#"{"decision":"deny","reason":"each line must be a JSON object with a string \"command\"","rule_id":"dcg:invalid-input","source":"limit"}"#.utf8) + [10]
}
