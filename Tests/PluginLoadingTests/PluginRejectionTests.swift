import Foundation
import Host
import HostTestSupport
import Testing

/// Every way a plugin can be wrong gets its own clear error naming the file and the reason.
@Suite("plugin rejections")
struct PluginRejectionTests {
    /// Loads one manifest pointing at `library` and returns its rejection.
    func rejection(_ library: URL, extra: String = "") throws -> PluginLoadError {
        let plugins = try PluginDirectoryBuilder()
        defer { plugins.directory.remove() }
        let manifest = try plugins.manifest("subject", library: library, extra: extra)
        let catalog = try plugins.load()
        let error = try #require(catalog.entry("subject")?.status.error, "the plugin should be rejected")
        #expect(error.file == manifest, "the error names the manifest")
        return error
    }

    func badFixture(_ name: String) throws -> URL {
        try CDriverBuilder.build(name, sources: [TestPaths.driverFixtures.appendingPathComponent("bad/\(name).c")])
    }

    @Test("a missing library file")
    func missingFile() throws {
        let error = try rejection(URL(fileURLWithPath: "/nonexistent/libnothing.so"))
        #expect(error.code == "library_missing")
        #expect(error.description.contains("/nonexistent/libnothing.so does not exist"))
    }

    @Test("a text file named .so is not a shared object")
    func textFile() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let fake = try folder.write("libfake.so", "this is not ELF\n")
        let error = try rejection(fake)
        #expect(error.code == "not_shared_object")
        #expect(error.message.contains("no ELF header"))
    }

    @Test("an ELF executable is not a shared library")
    func executable() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let source = try folder.write("main.c", "int main(void) { return 0; }\n")
        let binary = folder.file("prog.so")
        let built = try ProcessRunner.run(command: "cc", ["-no-pie", "-o", binary.path, source.path])
        try #require(built.status == 0, "\(built.stderr)")
        let error = try rejection(binary)
        #expect(error.code == "not_shared_object")
        #expect(error.message.contains("ET_DYN"))
    }

    @Test("a shared object without the entry symbol")
    func noEntry() throws {
        let error = try rejection(try badFixture("no_entry"))
        #expect(error.code == "entry_symbol_missing")
        #expect(error.message.contains("flywheel_plugin_entry"))
    }

    @Test("a FIFO named like a library is refused at once, without waiting on it")
    func fifo() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let fifo = folder.file("libpipe.so")
        try #require(mkfifo(fifo.path, 0o600) == 0)
        let error = try rejection(fifo)
        #expect(error.code == "not_shared_object")
        #expect(error.message.contains("it is a FIFO, not a regular file"))
    }

    @Test("a library without the entry symbol is refused from the file, before any of its code runs")
    func noEntryNoCodeRun() throws {
        let folder = try TemporaryDirectory()
        defer { folder.remove() }
        let marker = folder.file("constructor-ran")
        let source = try folder.write("constructor.c", """
            #include <stdio.h>
            __attribute__((constructor)) static void ran(void) { FILE *f = fopen("\(marker.path)", "w"); if (f) fclose(f); }
            int flywheel_plugin_entry_typo(void) { return 0; }
            """)
        let library = try CDriverBuilder.build("constructor_no_entry", sources: [source])
        let error = try rejection(library)
        #expect(error.code == "entry_symbol_missing")
        #expect(!FileManager.default.fileExists(atPath: marker.path), "dlopen ran the library's constructor")
    }

    @Test("another ABI major version")
    func wrongMajor() throws {
        let error = try rejection(try badFixture("wrong_major"))
        #expect(error.code == "abi_major_mismatch")
        #expect(error.message.contains("ABI 2."))
    }

    @Test("a newer minor version than the host")
    func newerMinor() throws {
        let error = try rejection(try badFixture("newer_minor"))
        #expect(error.code == "abi_minor_too_new")
        #expect(error.message.contains("1.99"))
    }

    @Test("an entry struct smaller than v1.0")
    func smallStruct() throws {
        let error = try rejection(try badFixture("small_struct"))
        #expect(error.code == "struct_too_small")
        #expect(error.message.contains("flywheel_plugin_entry_t.struct_size is 8"))
    }

    @Test("a required function pointer that is NULL")
    func nullFunction() throws {
        let error = try rejection(try badFixture("null_function"))
        #expect(error.code == "required_function_missing")
        #expect(error.message.contains("create_driver"))
    }

    @Test("init failure carries the driver's message")
    func initFails() throws {
        let error = try rejection(try badFixture("init_fails"))
        #expect(error.code == "init_failed")
        #expect(error.message.contains("FLYWHEEL_ERR_INTERNAL"))
        #expect(error.message.contains("no licence"))
    }

    @Test("invalid JSON from the plugin")
    func invalidJSON() throws {
        let error = try rejection(try badFixture("invalid_capabilities"))
        #expect(error.code == "invalid_json")
        #expect(error.message.contains("capabilities_json"))
    }

    @Test("a descriptor with an invalid id")
    func badDescriptor() throws {
        let error = try rejection(try badFixture("bad_descriptor"))
        #expect(error.code == "descriptor_invalid")
        #expect(error.message.contains("Not Valid!"))
    }

    @Test("a NULL descriptor")
    func nullDescriptor() throws {
        let error = try rejection(try badFixture("null_descriptor"))
        #expect(error.code == "descriptor_missing")
    }

    @Test("a sha256 pin that does not match")
    func checksumMismatch() throws {
        let pin = String(repeating: "ab", count: 32)
        let error = try rejection(try badFixture("good_minimal"), extra: "sha256 = \"\(pin)\"")
        #expect(error.code == "checksum_mismatch")
        #expect(error.message.contains(pin))
    }

    @Test("a manifest id that differs from the driver's")
    func idMismatch() throws {
        let error = try rejection(try badFixture("good_minimal"), extra: "id = \"test.other\"")
        #expect(error.code == "driver_id_mismatch")
        #expect(error.message.contains("test.minimal"))
    }

    @Test("two plugins declaring the same driver id")
    func duplicateID() throws {
        let plugins = try PluginDirectoryBuilder()
        defer { plugins.directory.remove() }
        try plugins.manifest("a", library: try badFixture("duplicate_id_a"))
        try plugins.manifest("b", library: try badFixture("duplicate_id_b"))
        let catalog = try plugins.load()
        #expect(catalog.entry("a")?.status.plugin?.descriptor.id == "test.duplicate")
        let error = try #require(catalog.entry("b")?.status.error)
        #expect(error.code == "duplicate_driver_id")
        #expect(error.message.contains("a.toml"))
    }
}
