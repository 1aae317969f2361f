import Foundation
import Host
import HostTestSupport
import Testing

@Suite("shipped drivers")
struct DefaultPluginsTests {
    /// The repository's plugins.d, with library paths pointed at this build's products (the shipped
    /// files point at the release build).
    func shippedManifests() throws -> PluginDirectoryBuilder {
        let plugins = try PluginDirectoryBuilder()
        let shipped = TestPaths.packageRoot.appendingPathComponent("plugins.d")
        for name in try FileManager.default.contentsOfDirectory(atPath: shipped.path) where name.hasSuffix(".toml") {
            let text = try String(contentsOf: shipped.appendingPathComponent(name), encoding: .utf8)
            #expect(text.contains("../.build/release/"), "\(name) should point at the release build")
            let redirected = text.replacingOccurrences(of: "../.build/release/", with: TestPaths.buildDirectory.path + "/")
            try plugins.directory.write(name, redirected)
        }
        return plugins
    }

    @Test("the three Swift drivers load from the default plugins.d")
    func defaultPluginsLoad() throws {
        let plugins = try shippedManifests()
        defer { plugins.directory.remove() }
        let catalog = try plugins.load()
        let loaded = catalog.loadedPlugins.map(\.descriptor.id).sorted()
        #expect(loaded == ["flywheel.acp", "flywheel.sdk", "flywheel.tmux"])
        for plugin in catalog.loadedPlugins {
            #expect(plugin.abiVersion == "1.2.0")
        }
    }

    @Test("each shipped driver passes the conformance exercise with its shipped config")
    func shippedDriversConform() async throws {
        let plugins = try shippedManifests()
        defer { plugins.directory.remove() }
        let workspace = try TemporaryDirectory("workspace")
        defer { workspace.remove() }
        for name in ["sdk", "acp", "tmux"] {
            let manifest = try PluginManifest.load(contentsOf: plugins.directory.file("\(name).toml"))
            let plugin = try PluginLoader(logger: .quiet).load(manifest)
            let checks = await DriverConformance().run(plugin: plugin, configJSON: manifest.configJSON, workspace: workspace.url)
            #expect(checks.map(\.name) == ["describe", "start", "execute", "events", "terminal", "cancel", "stop"])
            for check in checks { #expect(check.passed, "\(name) \(check.name): \(check.detail)") }
        }
    }

    @Test("a driver refuses a bad configuration with a reason")
    func badConfig() throws {
        let plugin = try PluginLoader(logger: .quiet).load(library: TestPaths.library("SDKDriver"))
        let error = #expect(throws: DriverCallError.self) {
            try plugin.makeDriver(configJSON: #"{"provider":"acme"}"#)
        }
        #expect(error?.status == 2)
        #expect(error?.message?.contains("provider 'acme' is not supported") == true)
    }

    @Test("a rejected plugin never stops the others")
    func rejectionIsolated() throws {
        let plugins = try PluginDirectoryBuilder()
        defer { plugins.directory.remove() }
        let fake = try plugins.directory.write("libfake.so", "not a library")
        try plugins.manifest("a-broken", library: fake)
        try plugins.manifest("b-missing", library: URL(fileURLWithPath: "/nonexistent/lib.so"))
        try plugins.manifest("c-sdk", library: TestPaths.library("SDKDriver"))
        try plugins.directory.write("d-syntax.toml", "path = = \n")
        let catalog = try plugins.load()
        #expect(catalog.entries.map(\.status.name) == ["rejected", "rejected", "loaded", "rejected"])
        #expect(catalog.plugin(driverID: "flywheel.sdk") != nil)
    }

    @Test("a disabled plugin is listed but never opened")
    func disabled() throws {
        let plugins = try PluginDirectoryBuilder()
        defer { plugins.directory.remove() }
        // The library does not exist: opening it would be a rejection, so "disabled" proves it was not opened.
        try plugins.manifest("off", library: URL(fileURLWithPath: "/nonexistent/libnever.so"), extra: "enabled = false")
        let catalog = try plugins.load()
        #expect(catalog.entry("off")?.status.name == "disabled")
    }

    @Test("a matching sha256 pin loads")
    func checksumMatch() throws {
        let library = TestPaths.library("TmuxDriver")
        let sum = try ProcessRunner.run(command: "sha256sum", [library.path])
        let hex = String(sum.stdout.prefix(64))
        let plugins = try PluginDirectoryBuilder()
        defer { plugins.directory.remove() }
        try plugins.manifest("tmux", library: library, extra: "sha256 = \"\(hex.uppercased())\"")
        #expect(try plugins.load().entry("tmux")?.status.name == "loaded")
    }

    @Test("a missing plugins directory is a clear error")
    func missingDirectory() {
        let error = #expect(throws: PluginDirectoryError.self) {
            try PluginLoader(logger: .quiet).loadDirectory(URL(fileURLWithPath: "/nonexistent/plugins.d"))
        }
        #expect(error?.description.contains("/nonexistent/plugins.d") == true)
    }
}
