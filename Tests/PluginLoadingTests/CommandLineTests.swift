import Foundation
import Host
import HostTestSupport
import Testing

/// The `flywheel` binary, run as an operator or driver author would.
@Suite("flywheel plugins command line")
struct CommandLineTests {
    @Test("--help lists every command")
    func help() throws {
        let output = try ProcessRunner.run(TestPaths.flywheel, ["--help"])
        #expect(output.status == 0)
        #expect(output.stdout.contains("plugins"))
    }

    @Test("plugins list --json reports loaded, disabled and rejected plugins; exit 1 on a rejection")
    func listJSON() throws {
        let plugins = try PluginDirectoryBuilder()
        defer { plugins.directory.remove() }
        try plugins.manifest("acp", library: TestPaths.library("ACPDriver"))
        try plugins.manifest("off", library: TestPaths.library("TmuxDriver"), extra: "enabled = false")
        try plugins.manifest("zz-missing", library: URL(fileURLWithPath: "/nonexistent/lib.so"))
        let output = try ProcessRunner.run(TestPaths.flywheel, ["plugins", "list", "--json", "--plugins-dir", plugins.url.path])
        #expect(output.status == 1)
        let rows = try #require(try JSONSerialization.jsonObject(with: Data(output.stdout.utf8)) as? [[String: Any]])
        #expect(rows.map { $0["status"] as? String } == ["loaded", "disabled", "rejected"])
        #expect(rows[0]["id"] as? String == "flywheel.acp")
        #expect(rows[0]["abi_version"] as? String == "1.2.0")
        #expect(rows[0]["version"] as? String == "1.0.0")
        #expect((rows[2]["reason"] as? String)?.contains("does not exist") == true)
        #expect(rows[2]["code"] as? String == "library_missing")
    }

    @Test("plugins list exits 0 when everything loads")
    func listClean() throws {
        let plugins = try PluginDirectoryBuilder()
        defer { plugins.directory.remove() }
        try plugins.manifest("sdk", library: TestPaths.library("SDKDriver"))
        let output = try ProcessRunner.run(TestPaths.flywheel, ["plugins", "list", "--plugins-dir", plugins.url.path])
        #expect(output.status == 0, "\(output.stderr)")
        #expect(output.stdout.contains("flywheel.sdk"))
        #expect(output.stdout.contains("loaded"))
    }

    @Test("plugins validate passes a conforming Swift driver")
    func validateSwiftDriver() throws {
        // The SDK driver needs a model; without an account its run fails at once, which still conforms.
        let output = try ProcessRunner.run(TestPaths.flywheel, ["plugins", "validate", TestPaths.library("SDKDriver").path,
                                                                "--config", #"{"model":"claude-sonnet-4-5"}"#])
        #expect(output.status == 0, "\(output.stdout)\(output.stderr)")
        for check in ["load", "describe", "start", "execute", "events", "terminal", "cancel", "stop"] {
            #expect(output.stdout.contains("pass  \(check):"), "missing \(check) in \(output.stdout)")
        }
    }

    @Test("plugins validate fails a broken plugin with a non-zero status")
    func validateBroken() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let fake = try folder.write("libfake.so", "text")
        let output = try ProcessRunner.run(TestPaths.flywheel, ["plugins", "validate", "--json", fake.path])
        #expect(output.status == 1)
        #expect(output.stdout.contains("not a shared object"))
    }

    @Test("plugins validate reports a refused configuration as a failed start")
    func validateBadConfig() throws {
        let output = try ProcessRunner.run(
            TestPaths.flywheel, ["plugins", "validate", "--config", #"{"provider":"acme"}"#, TestPaths.library("SDKDriver").path])
        #expect(output.status == 1)
        #expect(output.stdout.contains("FAIL  start"))
        #expect(output.stdout.contains("FLYWHEEL_ERR_INVALID_CONFIG"))
    }
}
