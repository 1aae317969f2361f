import Foundation

/// Where things are when tests run: the package checkout and the build products beside the test binary.
public enum TestPaths {
    /// The package root, found from this file's location.
    public static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The folder holding the test bundle, which SwiftPM fills with every product of the same build:
    /// `flywheel`, `libSDKDriver.so`, ...
    public static let buildDirectory: URL = {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        var directory = URL(fileURLWithPath: executable).deletingLastPathComponent()
        // On some layouts the test binary sits inside a bundle folder; climb to the products folder.
        while !FileManager.default.fileExists(atPath: directory.appendingPathComponent("libSDKDriver.so").path),
              directory.pathComponents.count > 2 {
            directory.deleteLastPathComponent()
        }
        return directory
    }()

    /// The `flywheel` executable of this build.
    public static var flywheel: URL { buildDirectory.appendingPathComponent("flywheel") }

    /// The Python the tests' peers run on (the ACP SDK, Playwright): `FLYWHEEL_TEST_PYTHON`, or the
    /// virtual environment `scripts/install-deps --tests` makes in `.build/test-venv`.
    public static let testPython: String = ProcessInfo.processInfo.environment["FLYWHEEL_TEST_PYTHON"]
        ?? packageRoot.appendingPathComponent(".build/test-venv/bin/python3").path

    /// A driver library product of this build, e.g. `library("SDKDriver")`.
    public static func library(_ product: String) -> URL {
        buildDirectory.appendingPathComponent("lib\(product).so")
    }

    /// The public C header folder.
    public static var abiInclude: URL { packageRoot.appendingPathComponent("Sources/PluginABI/include") }

    /// C sources of test drivers.
    public static var driverFixtures: URL { packageRoot.appendingPathComponent("Tests/Fixtures/drivers") }
}
