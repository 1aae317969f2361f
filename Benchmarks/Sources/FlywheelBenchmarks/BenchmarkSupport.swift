import Foundation

/// Shared helpers: where the main package is, and how to print a figure.
enum BenchmarkSupport {
    /// The repository root (the parent of the Benchmarks package).
    static let repositoryRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    static func figure(_ name: String, _ value: String, target: String? = nil) {
        let padded = name.padding(toLength: 52, withPad: " ", startingAt: 0)
        print("\(padded) \(value)" + (target.map { "   (target \($0))" } ?? ""))
    }

    static func format(nanoseconds: Double) -> String {
        if nanoseconds < 1_000 { return String(format: "%.0f ns", nanoseconds) }
        if nanoseconds < 1_000_000 { return String(format: "%.2f µs", nanoseconds / 1_000) }
        return String(format: "%.2f ms", nanoseconds / 1_000_000)
    }

    /// Runs a command and fails loudly if it fails.
    static func run(_ arguments: [String], in directory: URL? = nil, quiet: Bool = false) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        if quiet { process.standardOutput = FileHandle.nullDevice }
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw BenchmarkError(description: "\(arguments.joined(separator: " ")) exited \(process.terminationStatus)")
        }
    }

    /// A plugins.d in `directory` with the tests' scripted driver (`test.scripted`), built with -O2.
    static func scriptedPlugins(in directory: URL) throws -> URL {
        let library = directory.appendingPathComponent("libscripted.so")
        try run([
            "cc", "-std=c11", "-O2", "-shared", "-fPIC", "-pthread",
            "-I", repositoryRoot.appendingPathComponent("Sources/PluginABI/include").path, "-o", library.path,
            repositoryRoot.appendingPathComponent("Tests/Fixtures/drivers/scripted_driver.c").path,
        ])
        let plugins = directory.appendingPathComponent("plugins.d")
        try FileManager.default.createDirectory(at: plugins, withIntermediateDirectories: true)
        try "path = \"\(library.path)\"\n".write(to: plugins.appendingPathComponent("scripted.toml"), atomically: true, encoding: .utf8)
        return plugins
    }
}

struct BenchmarkError: Error, CustomStringConvertible {
    var description: String
}
