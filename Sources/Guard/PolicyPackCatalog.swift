/// Every pack the guard knows, in the order they are checked.
enum PolicyPackCatalog {
    static let all: [PolicyPack] = [
        .coreGit, .coreFilesystem,
        .inlinePython, .inlineNode, .inlineRuby, .inlinePerl, .inlinePHP,
        .databasePostgres, .databaseMySQL, .databaseSQLite, .databaseRedis, .databaseMongo,
        .containersDocker, .containersCompose, .containersPodman,
        .kubernetesKubectl, .kubernetesHelm,
        .cloudAWS, .cloudGCloud, .cloudAzure,
        .infrastructureTerraform,
        .system, .publishing,
    ]

    static let byID: [String: PolicyPack] = Dictionary(uniqueKeysWithValues: all.map { ($0.id, $0) })

    /// Every rule id (`pack:rule`), for checking operator configuration.
    static let ruleIDs: Set<String> = Set(all.flatMap { pack in
        pack.rules.map { pack.ruleID($0.name) } + pack.codeRules.map { pack.ruleID($0.name) }
    })

    /// The guard's own rules for what it cannot resolve (held with `ask` unless a mode says otherwise).
    static let unresolvedRuleIDs: Set<String> = [
        "dcg:dynamic-command", "dcg:unknown-script", "dcg:possible-command", "dcg:hidden-call", "dcg:environment",
    ]

    /// Words that can hide a command behind a wrapper or an interpreter: the prefilter must always
    /// look closer when it sees one.
    static let wrapperKeywords: Set<String> = Set<String>([
        "sudo", "doas", "env", "command", "builtin", "exec", "nohup", "time", "timeout", "nice", "ionice", "stdbuf",
        "chrt", "taskset", "xargs", "watch", "eval", "su", "ssh", "unbuffer", "nocache", "source",
    ]).union(CommandNormalizer.shells.names)
        .union(["python", "python2", "python3", "pypy", "pypy3", "node", "nodejs", "bun", "deno", "ruby", "jruby", "perl", "php"])
}
