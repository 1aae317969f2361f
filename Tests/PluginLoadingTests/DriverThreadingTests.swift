import Foundation
import Host
import HostTestSupport
import Testing

/// Drivers emit from their own threads while the host reads; nothing is lost, reordered within a
/// thread, or accepted after the run ended.
@Suite("driver threads")
struct DriverThreadingTests {
    struct Tick: Decodable { var type: String; var t: Int?; var n: Int? }

    @Test("events from two driver threads all arrive, in each thread's order, while the host reads")
    func twoThreads() async throws {
        let plugin = try PluginLoader(logger: .quiet).load(library: try ScriptedDriver.library())
        let instance = try plugin.makeDriver()
        defer { instance.destroy() }
        let perThread = 50_000
        // A small queue forces the emitting threads to wait for the reader now and then.
        let run = try instance.execute(taskJSON: ScriptedDriver.task("events=\(perThread * 2) threads=2"), queueCapacity: 512)
        var next = [0, 0]
        var terminal: String?
        let decoder = JSONDecoder()
        reading: while let batch = await run.next() {
            for item in batch {
                guard case .event(let event) = item else { continue }
                let tick = try decoder.decode(Tick.self, from: Data(event.json.utf8))
                if tick.type == "x-tick", let thread = tick.t, let n = tick.n {
                    #expect(n == next[thread], "thread \(thread) skipped or reordered")
                    next[thread] = n + 1
                } else {
                    terminal = tick.type
                    break reading
                }
            }
        }
        #expect(next == [perThread, perThread])
        #expect(terminal == "completed")
    }

    @Test("after the host finishes a run, emits are refused and queued commands are answered closed")
    func finishedRunRefuses() async throws {
        let plugin = try PluginLoader(logger: .quiet).load(library: try ScriptedDriver.library())
        let instance = try plugin.makeDriver()
        defer { instance.destroy() }
        // The driver asks for a command first and waits for the answer; finishing the run answers it.
        let run = try instance.execute(taskJSON: ScriptedDriver.task("command=true events=5"))
        try await Task.sleep(for: .milliseconds(200))
        let leftover = run.finish()
        #expect(leftover.isEmpty, "the command request is answered, not returned")
        // The driver got "command closed", then its emits were refused; destroy still joins cleanly.
        #expect(run.isFinished)
    }

    @Test("checkpoint offers arrive in order with the events around them")
    func checkpointsOrdered() async throws {
        let plugin = try PluginLoader(logger: .quiet).load(library: try ScriptedDriver.library())
        let instance = try plugin.makeDriver()
        defer { instance.destroy() }
        #expect(instance.supportsCheckpoints)
        let run = try instance.execute(taskJSON: ScriptedDriver.task("events=30 checkpoint_every=10"))
        var ticks = 0
        var offers: [String] = []
        reading: while let batch = await run.next() {
            for item in batch {
                switch item {
                case .event(let event):
                    if event.isTerminal { break reading }
                    ticks += 1
                case .refusedEvent(let problem, _):
                    Issue.record("emit refused an event: \(problem)")
                case .checkpoint(let state):
                    offers.append("\(String(decoding: state, as: UTF8.self))@\(ticks)")
                case .command:
                    Issue.record("no command was scripted")
                }
            }
        }
        #expect(offers == ["n=10@10", "n=20@20", "n=30@30"])
    }

    @Test("a run resumed from a checkpoint continues counting")
    func resume() async throws {
        let plugin = try PluginLoader(logger: .quiet).load(library: try ScriptedDriver.library())
        let instance = try plugin.makeDriver()
        defer { instance.destroy() }
        let run = try instance.resume(taskJSON: ScriptedDriver.task("events=5"), state: Array("n=3".utf8))
        var numbers: [Int] = []
        reading: while let batch = await run.next() {
            for item in batch {
                guard case .event(let event) = item else { continue }
                let tick = try JSONDecoder().decode(Tick.self, from: Data(event.json.utf8))
                if let n = tick.n { numbers.append(n) } else { break reading }
            }
        }
        #expect(numbers == [3, 4])
    }

    @Test("invalid events are reported, never trusted")
    func invalidEvents() {
        for (bytes, problem) in [
            (Array("not json".utf8), "not valid JSON"),
            (Array("[1]".utf8), "not a JSON object"),
            (Array(#"{"kind":"x"}"#.utf8), "no string 'type'"),
            (Array(#"{"type":"host.command.decision"}"#.utf8), "reserved for the host"),
            (Array(#"{"type":"message","role":"assistant"}"#.utf8), "needs a string 'text'"),
            (Array(#"{"type":"rate_limited","provider":"x"}"#.utf8), "retry_after_seconds"),
            ([0x7B, 0xFF, 0x7D], "not valid UTF-8"),
        ] {
            #expect(throws: DriverEventProblem.self) { try DriverEventParser.parse(bytes) }
            do {
                _ = try DriverEventParser.parse(bytes)
            } catch {
                #expect(error.description.contains(problem), "\(error.description)")
            }
        }
        #expect((try? DriverEventParser.parse(Array(#"{"type":"x-custom","n":1}"#.utf8)))?.type == "x-custom")
        #expect((try? DriverEventParser.parse(Array(#"{"type":"future_type"}"#.utf8)))?.type == "future_type")
    }
}
