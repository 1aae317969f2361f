import Foundation

// Usage: FlywheelBenchmarks [plugins] [events] [policy] [guard] [store] [replay] [memory] [serve] [tmux] [acp] [sdk]   (no argument: all of them)
//        FlywheelBenchmarks corpus-pass   (one check of each corpus case and nothing else: for callgrind,
//        whose instruction counts do not move with the machine's load)
let requested = Set(CommandLine.arguments.dropFirst())
func wanted(_ name: String) -> Bool { requested.isEmpty || requested.contains(name) }

if wanted("plugins") { try PluginBenchmarks.loadTimes() }
if wanted("events") { try await PluginBenchmarks.eventCrossing() }
if wanted("policy") { PolicyBenchmarks.run() }
if wanted("guard") { try GuardBenchmarks.run() }
if wanted("store") { try await StoreBenchmarks.throughput() }
if wanted("replay") { try await StoreBenchmarks.replay() }
if wanted("memory") { try await StoreBenchmarks.memory() }
if requested.contains("corpus-pass") { try GuardBenchmarks.onePass() }
if wanted("serve") { try await ServerBenchmarks.run() }
if wanted("tmux") { try await TmuxBenchmarks.paneToEvents() }
if wanted("acp") { try await ACPBenchmarks.run() }
if wanted("sdk") { try await SDKBenchmarks.run() }
