import Foundation
import Host
import HostTestSupport
import Testing

/// A driver in plain C is a first-class citizen: compiled by `cc` against the header, loaded by the
/// same loader, checked by the same `validate`.
@Suite("C drivers")
struct CDriverTests {
    func exampleDriver() throws -> URL {
        try CDriverBuilder.build(
            "example_echo", sources: [TestPaths.packageRoot.appendingPathComponent("Examples/c-driver/echo_driver.c")],
            extraFlags: ["-fvisibility=hidden"])
    }

    @Test("the C example driver loads from a plugins.d manifest")
    func exampleLoads() throws {
        let plugins = try PluginDirectoryBuilder()
        defer { plugins.directory.remove() }
        try plugins.manifest("echo", library: try exampleDriver(), extra: "id = \"example.echo\"\n[config]\nanything = 1")
        let plugin = try #require(try plugins.load().entry("echo")?.status.plugin)
        #expect(plugin.descriptor.name == "Echo (C example)")
        #expect(plugin.descriptor.vendor == "Flywheel examples")
    }

    @Test("the C example driver passes flywheel plugins validate")
    func exampleValidates() throws {
        let output = try ProcessRunner.run(TestPaths.flywheel, ["plugins", "validate", try exampleDriver().path])
        #expect(output.status == 0, "\(output.stdout)\(output.stderr)")
        #expect(output.stdout.contains("pass  events: 3 well-formed event(s): status, message, completed"))
        #expect(output.stdout.contains("8 checks passed"))
    }

    @Test("the C example driver echoes the prompt, escaped, and gets the host's command answer")
    func exampleRun() async throws {
        let plugin = try PluginLoader(logger: .quiet).load(library: try exampleDriver())
        let instance = try plugin.makeDriver()
        defer { instance.destroy() }
        let run = try instance.execute(taskJSON: #"{"prompt":"say \"hi\"\n","run_command":true}"#)
        var events: [ParsedDriverEvent] = []
        reading: while let batch = await run.next() {
            for item in batch {
                switch item {
                case .command(let pending):
                    #expect(pending.request.command == "echo hello")
                    pending.complete(resultJSON: #"{"decision":"allow","ran":true,"exit_code":0}"#)
                case .event(let event):
                    events.append(event)
                    if event.isTerminal { break reading }
                case .refusedEvent(let problem, _):
                    Issue.record("emit refused an event: \(problem)")
                case .checkpoint:
                    Issue.record("the example offers no checkpoints")
                }
            }
        }
        #expect(events.map(\.type) == ["status", "status", "message", "completed"])
        #expect(events[1].json.contains("command decision allow, exit code 0"))
        let message = try JSONSerialization.jsonObject(with: Data(events[2].json.utf8)) as? [String: Any]
        #expect(message?["text"] as? String == "say \"hi\"\n")
    }

    @Test("the C example refuses a config that is not an object")
    func exampleRefusesConfig() throws {
        let plugin = try PluginLoader(logger: .quiet).load(library: try exampleDriver())
        let error = #expect(throws: DriverCallError.self) { try plugin.makeDriver(configJSON: "[1,2]") }
        #expect(error?.status == 2)
        #expect(error?.message == "the echo driver's config must be a JSON object")
    }
}
