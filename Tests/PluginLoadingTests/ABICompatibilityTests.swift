import Foundation
@_spi(Testing) import Host
import PluginABI
import HostTestSupport
import Testing

/// The versioning promise, kept for real: a driver compiled against a released older header loads
/// and runs in this host.
@Suite("ABI compatibility")
struct ABICompatibilityTests {
    /// The scripted test driver, compiled against the 1.0.0 header as it was released
    /// (`Tests/Fixtures/abi-1.0.0`, a verbatim copy).
    static func driverBuiltAgainst100() throws -> URL {
        try CDriverBuilder.build("scripted_abi100", sources: [TestPaths.driverFixtures.appendingPathComponent("scripted_driver.c")],
                                 defines: [#"SCRIPTED_DRIVER_ID="test.scripted-abi100""#],
                                 include: TestPaths.packageRoot.appendingPathComponent("Tests/Fixtures/abi-1.0.0"))
    }

    @Test("a driver built against the 1.0.0 header loads in this 1.2 host and runs a session to done, its command through the guard")
    func driverFrom100() async throws {
        let header = try String(contentsOf: TestPaths.packageRoot.appendingPathComponent("Tests/Fixtures/abi-1.0.0/flywheel/driver.h"), encoding: .utf8)
        #expect(header.contains("#define FLYWHEEL_ABI_VERSION_MINOR 0u") && header.contains("#define FLYWHEEL_ABI_VERSION_PATCH 0u"))
        let library = try Self.driverBuiltAgainst100()
        let plugin = try PluginLoader(logger: .quiet).load(library: library)
        #expect(plugin.abiVersion == "1.0.0")
        #expect(HostABI.version.minor == 2)

        let directory = try TemporaryDirectory("abi100")
        try directory.write("plugins.d/abi100.toml", "path = \"\(library.path)\"\n")
        let harness = try await SessionHarness(directory: directory)
        defer { harness.remove() }
        let agent = try await harness.agent("old", driver: "test.scripted-abi100")
        let session = try await harness.submit("command=echo+from-an-old-driver events=5", agent: agent)
        let ended = try await harness.waitForState(session.id, [.done, .failed, .cancelled])
        #expect(ended.state == .done, "\(ended.error ?? "")")
        let events = try await harness.events(session.id)
        #expect(events.filter { $0.type == "x-tick" }.count == 5)
        #expect(events.contains { $0.type == "status" && ($0.object["message"] as? String) == "command allow exit 0" })
        #expect(events.contains { $0.type == "host.command.output" && ($0.object["text"] as? String) == "from-an-old-driver\n" })
        await harness.stop()
    }
}
