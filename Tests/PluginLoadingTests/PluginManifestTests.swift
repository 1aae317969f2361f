import Foundation
import Host
import HostTestSupport
import Testing

@Suite("plugins.d manifests")
struct PluginManifestTests {
    let file = URL(fileURLWithPath: "/etc/flywheel/plugins.d/x.toml")

    @Test("a relative path resolves against the manifest's folder; config becomes JSON")
    func relativePath() throws {
        let manifest = try PluginManifest.parse("""
            path = "../lib/libx.so"
            enabled = false
            [config]
            provider = "openai"
            retries = 3
            """, file: file)
        #expect(manifest.libraryPath.path == "/etc/flywheel/lib/libx.so")
        #expect(manifest.enabled == false)
        let config = try JSONSerialization.jsonObject(with: Data(manifest.configJSON.utf8)) as? [String: Any]
        #expect(config?["provider"] as? String == "openai")
        #expect(config?["retries"] as? Int == 3)
    }

    @Test("defaults: enabled, no pin, empty config")
    func defaults() throws {
        let manifest = try PluginManifest.parse("path = \"/opt/libx.so\"", file: file)
        #expect(manifest.enabled && manifest.sha256 == nil && manifest.configJSON == "{}")
    }

    @Test("an unknown key is refused with its line")
    func unknownKey() throws {
        let error = #expect(throws: PluginLoadError.self) {
            try PluginManifest.parse("path = \"/opt/libx.so\"\nenabeld = true\n", file: file)
        }
        #expect(error?.line == 2)
        #expect(error?.description.contains("unknown key 'enabeld'") == true)
        #expect(error?.description.hasPrefix("/etc/flywheel/plugins.d/x.toml:2:") == true)
    }

    @Test("bad TOML syntax names the line")
    func syntax() throws {
        let error = #expect(throws: PluginLoadError.self) {
            try PluginManifest.parse("path = \"/opt/libx.so\"\nenabled = = true\n", file: file)
        }
        #expect(error?.code == "manifest_syntax")
        #expect(error?.line == 2)
    }

    @Test("missing path, wrong types and a malformed pin are refused")
    func invalidValues() throws {
        for (text, expected) in [
            ("enabled = true", "missing required key 'path'"),
            ("path = 3", "'path' must be a non-empty string"),
            ("path = \"/x.so\"\nenabled = \"yes\"", "'enabled' must be true or false"),
            ("path = \"/x.so\"\nsha256 = \"abc\"", "'sha256' must be 64 hexadecimal characters"),
            ("path = \"/x.so\"\nconfig = 1", "'config' must be a table"),
            ("path = \"/x.so\"\nid = \"Bad Id\"", "'id' must be"),
        ] {
            let error = #expect(throws: PluginLoadError.self) { try PluginManifest.parse(text, file: file) }
            #expect(error?.message.contains(expected) == true, "\(text) -> \(error?.message ?? "no error")")
        }
    }
}
