extension PolicyPack {
    static let containersDocker = PolicyPack(
        id: "containers.docker", summary: "Docker: system, volume, image and container pruning and forced removal",
        enabledByDefault: false, commands: ["docker"],
        safe: [{ Match.has($0, "--help") }],
        rules: [
            PolicyRule(name: "system-prune", severity: .high, reason: "docker system prune deletes stopped containers, networks, images and build cache",
                       alternative: "Prune one kind at a time, e.g. docker container prune") {
                Match.verbs($0, 2) == ["system", "prune"]
            },
            PolicyRule(name: "volume-delete", severity: .high, reason: "Deleting Docker volumes deletes their data", alternative: "docker volume ls, then back the data up") {
                let verbs = Match.verbs($0, 2)
                return verbs.first == "volume" && (verbs.last == "prune" || verbs.last == "rm" || verbs.last == "remove")
            },
            PolicyRule(name: "image-prune-all", severity: .medium, reason: "docker image prune -a deletes every unused image", alternative: "docker image prune (dangling only)") {
                Match.verbs($0, 2) == ["image", "prune"] && $0.hasFlag(short: "a", long: ["--all"])
            },
            PolicyRule(name: "container-prune", severity: .medium, reason: "docker container prune deletes every stopped container", alternative: nil) {
                Match.verbs($0, 2) == ["container", "prune"]
            },
            PolicyRule(name: "force-remove", severity: .medium, reason: "docker rm -f kills and deletes running containers", alternative: "docker stop, then docker rm") {
                let verbs = Match.verbs($0, 2)
                let removes = verbs.first == "rm" || verbs.first == "rmi" || verbs == ["container", "rm"] || verbs == ["image", "rm"]
                return removes && $0.hasFlag(short: "f", long: ["--force"])
            },
            PolicyRule(name: "network-prune", severity: .low, reason: "docker network prune deletes unused networks", alternative: nil) {
                Match.verbs($0, 2) == ["network", "prune"]
            },
        ])

    static let containersCompose = PolicyPack(
        id: "containers.compose", summary: "Docker Compose: down with volumes or images, forced rm",
        enabledByDefault: false, commands: ["docker", "docker-compose", "podman-compose"],
        rules: [
            PolicyRule(name: "down-volumes", severity: .high, reason: "compose down -v deletes the project's volumes and their data",
                       alternative: "compose down (keeps volumes)") {
                Self.composeVerb($0) == "down" && $0.hasFlag(short: "v", long: ["--volumes"])
            },
            PolicyRule(name: "down-images", severity: .medium, reason: "compose down --rmi deletes images", alternative: nil) {
                Self.composeVerb($0) == "down" && Match.has($0, "--rmi")
            },
            PolicyRule(name: "rm-force", severity: .medium, reason: "compose rm -f deletes containers without asking", alternative: nil) {
                Self.composeVerb($0) == "rm" && $0.hasFlag(short: "f", long: ["--force"])
            },
        ])

    /// The compose subcommand of `docker compose …` or `docker-compose …`.
    static func composeVerb(_ invocation: CommandInvocation) -> String? {
        let verbs = Match.verbs(invocation, 2, skipping: ["-f", "--file", "-p", "--project-name", "--env-file", "--profile"])
        if invocation.name == "docker" { return verbs.first == "compose" ? verbs.dropFirst().first : nil }
        return verbs.first
    }

    static let containersPodman = PolicyPack(
        id: "containers.podman", summary: "Podman: system prune and reset, volume removal, forced removal",
        enabledByDefault: false, commands: ["podman"],
        rules: [
            PolicyRule(name: "system-reset", severity: .critical, reason: "podman system reset deletes every container, image, volume and setting", alternative: nil) {
                Match.verbs($0, 2) == ["system", "reset"]
            },
            PolicyRule(name: "system-prune", severity: .high, reason: "podman system prune deletes unused containers, images and volumes", alternative: nil) {
                Match.verbs($0, 2) == ["system", "prune"]
            },
            PolicyRule(name: "volume-delete", severity: .high, reason: "Deleting volumes deletes their data", alternative: nil) {
                let verbs = Match.verbs($0, 2)
                return verbs.first == "volume" && (verbs.last == "prune" || verbs.last == "rm")
            },
            PolicyRule(name: "force-remove", severity: .medium, reason: "podman rm -f kills and deletes running containers", alternative: nil) {
                let verbs = Match.verbs($0, 2)
                return (verbs.first == "rm" || verbs.first == "rmi" || verbs == ["pod", "rm"]) && $0.hasFlag(short: "f", long: ["--force"])
            },
        ])
}
