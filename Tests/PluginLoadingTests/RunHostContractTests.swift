import Foundation
@testable import Host
import HostTestSupport
import PluginABI
import Testing

/// What `emit`, `request_command` and the checkpoint `offer` answer, called through the very
/// function pointers a driver calls.
@Suite("run host contract")
struct RunHostContractTests {
    private func emit(_ run: DriverRun, _ json: String) -> Int32 {
        json.withCString { run.runHost.pointee.emit(run.runHost, $0, json.utf8.count) }
    }

    @Test("emit refuses a reserved, invalid or non-object event at once; after the terminal event everything is closed")
    func emitAnswers() async throws {
        let plugin = try PluginLoader(logger: .quiet).load(library: try ScriptedDriver.library())
        let instance = try plugin.makeDriver()
        defer { instance.destroy() }
        // hang=1: the driver itself emits nothing terminal, so this test speaks for it.
        let run = try instance.execute(taskJSON: ScriptedDriver.task("events=0 hang=1"))
        #expect(emit(run, #"{"type":"host.session.state","state":"done"}"#) == FLYWHEEL_ERR_INVALID_ARGUMENT)
        #expect(emit(run, #"{"type":"status""#) == FLYWHEEL_ERR_INVALID_ARGUMENT)
        #expect(emit(run, #"[1,2]"#) == FLYWHEEL_ERR_INVALID_ARGUMENT)
        #expect(emit(run, #"{"type":"message","role":"assistant"}"#) == FLYWHEEL_ERR_INVALID_ARGUMENT)
        #expect(emit(run, #"{"type":"status","message":"fine"}"#) == FLYWHEEL_OK)
        #expect(emit(run, #"{"type":"completed"}"#) == FLYWHEEL_OK)
        #expect(emit(run, #"{"type":"status","message":"late"}"#) == FLYWHEEL_ERR_CLOSED)
        let request = #"{"command":"true"}"#
        let requested = request.withCString {
            run.runHost.pointee.request_command(run.runHost, $0, request.utf8.count, { _, _, _, _ in }, nil)
        }
        #expect(requested == FLYWHEEL_ERR_CLOSED)
        #expect(run.offerCheckpoint(UnsafeRawBufferPointer(start: nil, count: 0)) == FLYWHEEL_ERR_CLOSED)

        var items: [DriverRunItem] = []
        while let batch = await run.next() {
            items += batch
            if items.contains(where: { if case .event(let event) = $0 { event.isTerminal } else { false } }) { break }
        }
        let refused = items.compactMap { if case .refusedEvent(let problem, _) = $0 { problem } else { nil } }
        #expect(refused.count == 4)
        #expect(refused.first?.contains("reserved for the host") == true)
        let accepted = items.compactMap { if case .event(let event) = $0 { event.type } else { nil } }
        #expect(accepted == ["status", "completed"])
    }

    @Test("command requests are decoded by type: 1 is a number, true is not, out-of-range values are refused")
    func commandRequestNumbers() throws {
        func parse(_ json: String) throws -> CommandRequest {
            try Array(json.utf8).withUnsafeBytes { try CommandRequest.parse($0) }
        }
        #expect(try parse(#"{"command":"ls","timeout_seconds":1}"#).timeoutSeconds == 1)
        #expect(try parse(#"{"command":"ls","timeout_seconds":1.0}"#).timeoutSeconds == 1)
        #expect(try parse(#"{"command":"ls","timeout_seconds":0.25}"#).timeoutSeconds == 0.25)
        for bad in ["0", "true", "false", "-3", "1e400", "100000000", "\"5\""] {
            #expect(throws: CommandRequest.Invalid.self, "timeout_seconds \(bad)") {
                try parse(#"{"command":"ls","timeout_seconds":\#(bad)}"#)
            }
        }
        #expect(throws: CommandRequest.Invalid.self) { try parse(#"{"command":"ls","env":{"A":1}}"#) }
        #expect(throws: CommandRequest.Invalid.self) { try parse(#"{"command":true}"#) }
        #expect(try parse(#"{"command":"ls","env":{"A":"1"},"cwd":null}"#).environment == ["A": "1"])
    }
}
