import Foundation

/// Reads a run until its terminal event (or a timeout), checking each event on the way. Command
/// requests are answered without running anything: validation never runs agent commands.
struct RunCollector {
    var events: [ParsedDriverEvent] = []
    var problems: [String] = []
    var terminal: String?
    var commandRequests = 0
    var checkpointOffers = 0

    static let validationResult =
        #"{"request_id":"validation","decision":"deny","rule_id":"flywheel:validation","reason":"commands are not run during plugin validation","ran":false,"exit_code":null,"timed_out":false,"stdout":"","stderr":"","truncated":false}"#

    static func collect(_ run: DriverRun, timeout: Duration) async -> RunCollector {
        let collector = await withTaskGroup(of: RunCollector?.self) { group in
            group.addTask {
                var collector = RunCollector()
                while collector.terminal == nil, let batch = await run.next() {
                    collector.take(batch)
                }
                return collector
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return nil
            }
            // Whichever finishes first; on a timeout, finishing the run ends the reader with what it has.
            let first = await group.next() ?? nil
            group.cancelAll()
            run.finish()
            if let first { return first }
            if let second = await group.next(), let second { return second }
            return RunCollector()
        }
        return collector
    }

    mutating func take(_ batch: [DriverRunItem]) {
        for item in batch {
            switch item {
            case .event(let event):
                if let terminal {
                    problems.append("an event arrived after the terminal event '\(terminal)'")
                    continue
                }
                events.append(event)
                if event.isTerminal { terminal = event.type }
            case .refusedEvent(let problem, _):
                problems.append("emit refused an event: \(problem)")
            case .command(let pending):
                commandRequests += 1
                pending.complete(resultJSON: Self.validationResult)
            case .checkpoint:
                checkpointOffers += 1
            }
        }
    }

    var problemSuffix: String { problems.isEmpty ? "" : "; problems: " + problems.joined(separator: "; ") }

    var eventsCheck: DriverConformance.Check {
        let types = events.map(\.type).joined(separator: ", ")
        return DriverConformance.Check(
            name: "events", passed: problems.isEmpty,
            detail: problems.isEmpty ? "\(events.count) well-formed event(s): \(types)" : problems.joined(separator: "; "))
    }

    var terminalCheck: DriverConformance.Check {
        if let terminal {
            DriverConformance.Check(name: "terminal", passed: true, detail: "the run ended with '\(terminal)'")
        } else {
            DriverConformance.Check(name: "terminal", passed: false, detail: "no terminal event (completed, failed or cancelled) arrived")
        }
    }
}
