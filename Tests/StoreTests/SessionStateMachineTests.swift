import Host
import Testing

/// Every pair of states, against the table of ARCHITECTURE §5 plus the documented additions.
@Suite("session state machine")
struct SessionStateMachineTests {
    static let allowed: Set<String> = [
        "created>queued", "created>cancelled",
        "queued>running", "queued>failed", "queued>cancelled",
        "running>done", "running>failed", "running>paused", "running>queued", "running>cancelled",
        "paused>running", "paused>queued", "paused>failed", "paused>cancelled",
    ]

    static let pairs: [(SessionState, SessionState)] = SessionState.allCases.flatMap { from in SessionState.allCases.map { (from, $0) } }

    @Test("every pair of states", arguments: pairs)
    func pair(_ from: SessionState, _ to: SessionState) {
        let expected = Self.allowed.contains("\(from.rawValue)>\(to.rawValue)")
        #expect(SessionStateMachine.canTransition(from: from, to: to) == expected)
        if expected {
            #expect(throws: Never.self) { try SessionStateMachine.validate(from: from, to: to) }
        } else {
            let error = #expect(throws: IllegalSessionTransition.self) { try SessionStateMachine.validate(sessionID: "s1", from: from, to: to) }
            #expect(error?.from == from && error?.to == to)
        }
    }

    @Test("terminal states never change")
    func terminal() {
        for state in SessionState.allCases where state.isTerminal {
            #expect(SessionState.allCases.allSatisfy { !SessionStateMachine.canTransition(from: state, to: $0) })
        }
        #expect(Set(SessionState.allCases.filter(\.isTerminal)) == [.done, .failed, .cancelled])
    }
}
