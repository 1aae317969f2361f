import ArgumentParser

struct PluginsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugins",
        abstract: "List, check and validate driver plugins.",
        discussion: """
            Plugins are enabled with one TOML file per plugin in the plugins directory (plugins.d): \
            `path` to the shared object (relative to the file, or absolute), `enabled`, an optional \
            `sha256` pin, an optional expected driver `id`, and a `[config]` table handed to the driver.
            """,
        subcommands: [PluginsListCommand.self, PluginsValidateCommand.self])
}
