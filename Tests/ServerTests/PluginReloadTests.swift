import Foundation
@_spi(Testing) import Host
import HostTestSupport
import Server
import Testing

/// `POST /api/plugins/reload` against real libraries: a new manifest loads a new driver, a removed
/// one retires its driver while its running session goes on, a broken one is reported.
@Suite("plugin reload over HTTP")
struct PluginReloadTests {
    @Test("a new plugin loads and runs, a removed one retires while its running session ends normally, a broken one is reported")
    func reload() async throws {
        let server = try await ServerHarness()
        let plugins = server.sessions.directory
        let agent = try await server.sessions.agent()
        try await server.run { client in
            let admin = try await client.signIn(.admin).token
            let viewer = try await client.signIn(.viewer).token
            #expect(try await client.post("/api/plugins/reload", token: viewer).status == .forbidden)

            _ = try plugins.write("plugins.d/second.toml", "path = \"\(try ScriptedDriver.library(suffix: "second").path)\"\n")
            let added = try await client.post("/api/plugins/reload", token: admin)
            #expect(added.status == .ok, "\(added.text)")
            #expect(added["added"] as? [String] == ["test.scripted-second"])
            #expect(added["retired"] as? [String] == [])
            let second = try await client.post("/api/agents", token: admin, ["name": "second", "driverId": "test.scripted-second"])
            #expect(second.status == .created, "\(second.text)")
            let onSecond = try await server.sessions.submit("events=3", agent: try #require(try await server.gateway.store.agent(named: "second")))
            #expect(try await server.sessions.waitForState(onSecond.id, [.done, .failed]).state == .done)

            // A session running on test.scripted when its manifest goes away.
            let running = try await server.sessions.submit("events=40 rate=20", agent: agent)
            _ = try await server.sessions.waitForState(running.id, [.running])
            try FileManager.default.removeItem(at: plugins.file("plugins.d/scripted.toml"))
            _ = try plugins.write("plugins.d/broken.toml", "path = \"/nonexistent/libnothing.so\"\n")
            let retired = try await client.post("/api/plugins/reload", token: admin)
            #expect(retired["retired"] as? [String] == ["test.scripted"], "\(retired.text)")
            let entries = try #require(retired["items"] as? [[String: Any]])
            let broken = entries.first { $0["manifest"] as? String == "broken.toml" }
            #expect(broken?["status"] as? String == "rejected")
            #expect((broken?["reason"] as? String)?.contains("nothing") == true)
            #expect(try await server.sessions.waitForState(running.id, [.done, .failed], timeout: .seconds(60)).state == .done,
                    "the running session keeps its driver")
            let refused = try await client.post("/api/agents", token: admin, ["name": "third", "driverId": "test.scripted"])
            #expect(refused.status == .unprocessableContent && refused.errorCode == "DRIVER_NOT_LOADED")
            let orphan = try await server.sessions.submit("events=1", agent: agent)
            let failed = try await server.sessions.waitForState(orphan.id, [.done, .failed])
            #expect(failed.state == .failed)
            #expect(failed.error?.contains("not loaded") == true)
            let listed = try await client.get("/api/plugins", token: viewer).items.compactMap { $0["driverId"] as? String }
            #expect(Set(listed) == ["test.scripted-account", "test.scripted-second"])
        }
        await server.remove()
    }
}
