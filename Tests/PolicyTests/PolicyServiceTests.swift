import Foundation
import Guard
import Host
import HostTestSupport
import Testing

/// The policy as the API changes it: checked like a file, kept in the data directory, applied to
/// the next command, read back at the next start, changed compare-and-set.
@Suite("the policy in force")
struct PolicyServiceTests {
    static let askForGit = "# held, not refused\n[modes]\n\"core.git\" = \"ask\"\n"

    @Test("a replaced policy applies to the next check, is kept, and is read back at the next start; reset returns to the configured one")
    func replaceKeepReset() async throws {
        let directory = try TemporaryDirectory("policy")
        defer { directory.remove() }
        let service = try PolicyService(configured: .default, dataDirectory: directory.url, owner: true)
        #expect(service.current.source == .configured)
        #expect(service.active.current.evaluate("git reset --hard").verdict == .deny)
        let replaced = try await service.replace(toml: Self.askForGit, expectedVersion: service.current.version)
        #expect(replaced.source == .api)
        #expect(replaced.toml == Self.askForGit, "the text is kept as written, comments and all")
        #expect(service.active.current.evaluate("git reset --hard").verdict == .ask)
        let attributes = try FileManager.default.attributesOfItem(atPath: service.file.path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)

        let restarted = try PolicyService(configured: .default, dataDirectory: directory.url, owner: true)
        #expect(restarted.current.source == .api)
        #expect(restarted.current.version == replaced.version)
        #expect(restarted.active.current.evaluate("git reset --hard").verdict == .ask)

        let reset = try await restarted.reset(expectedVersion: nil)
        #expect(reset.source == .configured)
        #expect(!FileManager.default.fileExists(atPath: restarted.file.path))
        #expect(restarted.active.current.evaluate("git reset --hard").verdict == .deny)
    }

    @Test("a text that does not read is refused with its line, and nothing changes")
    func rejected() async throws {
        let directory = try TemporaryDirectory("policy")
        defer { directory.remove() }
        let service = try PolicyService(configured: .default, dataDirectory: directory.url, owner: true)
        let before = service.current.version
        for (text, line) in [("enable = [\"no.such.pack\"]\n", 1), ("\n[modes]\n\"core.git\" = \"maybe\"\n", 3), ("[[allow]]\nreason = \"x\"\n", 1)] {
            let error = await #expect(throws: PolicyRejected.self) { try await service.replace(toml: text, expectedVersion: nil) }
            #expect(error?.line == line, "\(text): \(String(describing: error))")
        }
        await #expect(throws: PolicyRejected.self) { try await service.replace(toml: "enable = [", expectedVersion: nil) }
        #expect(service.current.version == before)
        #expect(!FileManager.default.fileExists(atPath: service.file.path))
        // A client of the gateway that runs the sessions cannot change what applies there.
        let client = try PolicyService(configured: .default, dataDirectory: directory.url, owner: false)
        await #expect(throws: PolicyNotChangeable.self) { try await client.replace(toml: Self.askForGit, expectedVersion: nil) }
    }

    @Test("a stored policy that no longer reads stops the start with its file and line")
    func unreadableAtStart() throws {
        let directory = try TemporaryDirectory("policy")
        defer { directory.remove() }
        _ = try directory.write("policy.toml", "enable = [\"core.git\"]\ndisable = [\"gone.pack\"]\n")
        let error = #expect(throws: ConfigurationError.self) { try PolicyService(configured: .default, dataDirectory: directory.url, owner: true) }
        #expect(error?.line == 2)
        #expect(error?.file.hasSuffix("policy.toml") == true)
    }

    @Test("every setting written out reads back the same")
    func roundTrip() throws {
        let text = """
            enable = ["database.postgres", "system"]
            disable = ["core.git"]
            [modes]
            "core.filesystem" = "ask"
            "core.filesystem:rm-rf-general" = "warn"
            [[allow]]
            prefix = "rm -rf ./build \\"quoted\\" \\\\ back"
            reason = "build output"
            expires = 2031-02-03T04:05:06Z
            [[block]]
            regex = "^curl .*\\\\| *sh"
            reason = "no piping downloads into a shell"
            severity = "critical"
            [[block]]
            exact = "make deploy"
            reason = "deploys go through CI"
            """
        let parsed = try PolicyConfiguration.parse(text, file: URL(fileURLWithPath: "policy.toml"))
        let again = try PolicyConfiguration.parse(parsed.tomlText, file: URL(fileURLWithPath: "policy.toml"))
        #expect(again.enabledPacks == parsed.enabledPacks)
        #expect(again.modes == parsed.modes)
        #expect(again.tomlText == parsed.tomlText)
        #expect(again.allowRules.map(\.reason) == parsed.allowRules.map(\.reason))
        #expect(again.allowRules.first?.expires == parsed.allowRules.first?.expires)
        #expect(again.blockRules.map(\.severity) == [.critical, .high])
        #expect(again.blockRules.count == 2)
        #expect(PolicyConfiguration.default.tomlText.isEmpty)
    }

    @Test("two changes from the same version at once: exactly one wins, the other is told the policy changed (200 rounds)")
    func compareAndSet() async throws {
        let directory = try TemporaryDirectory("policy")
        defer { directory.remove() }
        let service = try PolicyService(configured: .default, dataDirectory: directory.url, owner: true)
        for round in 0..<200 {
            let version = service.current.version
            let texts = ["[modes]\n\"core.git\" = \"ask\"\n# \(round) a\n", "[modes]\n\"core.git\" = \"warn\"\n# \(round) b\n"]
            let results = await withTaskGroup(of: Result<String, any Error>.self) { group in
                for text in texts {
                    group.addTask { await Result { try await service.replace(toml: text, expectedVersion: version).toml } }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            let winners = results.compactMap { try? $0.get() }
            #expect(winners.count == 1, "round \(round)")
            #expect(results.contains { if case .failure(let error) = $0 { error is PolicyChanged } else { false } })
            #expect(service.current.toml == winners.first)
            #expect(try String(contentsOf: service.file, encoding: .utf8) == winners.first, "what applies is what is kept")
        }
    }
}

extension Result where Failure == any Error {
    init(catching body: () async throws -> Success) async {
        do { self = .success(try await body()) } catch { self = .failure(error) }
    }
}
