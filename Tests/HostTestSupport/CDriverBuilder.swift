import Foundation

/// Compiles C drivers with the system `cc` against the public header, as a third party would.
public enum CDriverBuilder {
    public struct CompileError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Where compiled fixtures go for this test process.
    private static let outputDirectory: URL = {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("flywheel-cdrivers-\(getpid())")
        // A folder left by an earlier process that had this pid holds libraries of older sources.
        try? FileManager.default.removeItem(at: directory)
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }()

    private static let lock = NSLock()

    /// Builds `sources` into `lib<name>.so` (once per test process) and returns its path.
    /// `include` is the folder holding `flywheel/driver.h`: the current header unless a test builds
    /// against a released older one.
    public static func build(_ name: String, sources: [URL], defines: [String] = [], extraFlags: [String] = [],
                             include: URL = TestPaths.abiInclude) throws -> URL {
        lock.lock()
        defer { lock.unlock() }
        let output = outputDirectory.appendingPathComponent("lib\(name).so")
        if FileManager.default.fileExists(atPath: output.path) { return output }
        let arguments = ["-std=c11", "-Wall", "-Wextra", "-Werror", "-shared", "-fPIC", "-pthread", "-O1",
                         "-I", include.path] + defines.map { "-D\($0)" } + extraFlags
            + ["-o", output.path] + sources.map(\.path)
        let result = try ProcessRunner.run(command: "cc", arguments)
        guard result.status == 0 else {
            throw CompileError(description: "cc \(arguments.joined(separator: " ")) failed:\n\(result.stderr)")
        }
        return output
    }

    /// Builds one file from `Tests/Fixtures/drivers/<relativePath>`.
    public static func fixture(_ relativePath: String, name: String? = nil, defines: [String] = []) throws -> URL {
        let source = TestPaths.driverFixtures.appendingPathComponent(relativePath)
        let base = name ?? source.deletingPathExtension().lastPathComponent
        return try build(base, sources: [source], defines: defines)
    }
}
