import Foundation

/// The scripted test driver (`Tests/Fixtures/drivers/scripted_driver.c`), built by `cc`.
public enum ScriptedDriver {
    /// `test.scripted`: needs no account.
    public static func library() throws -> URL {
        try CDriverBuilder.fixture("scripted_driver.c", name: "scripted")
    }

    /// `test.scripted-account`: its runs need a `testprov` account.
    public static func accountLibrary() throws -> URL {
        try CDriverBuilder.fixture("scripted_driver.c", name: "scripted_account", defines: [#"SCRIPTED_PROVIDER="testprov""#])
    }

    /// The scripted driver under another id (`test.scripted-<suffix>`), from a library of its own.
    public static func library(suffix: String) throws -> URL {
        try CDriverBuilder.fixture("scripted_driver.c", name: "scripted_\(suffix)", defines: [#"SCRIPTED_DRIVER_ID="test.scripted-\#(suffix)""#])
    }

    /// A `flywheel.task/1` document whose prompt is `script`.
    public static func task(_ script: String, session: String = "test", workspace: String = "/tmp") -> String {
        let object: [String: Any] = ["schema": "flywheel.task/1", "session_id": session, "prompt": script, "workspace": workspace]
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }
}
