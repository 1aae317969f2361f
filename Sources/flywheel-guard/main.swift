// flywheel-guard: the command guard alone, for callers that start a process per check. Claude
// Code runs its PreToolUse hook before every tool call, so this executable links only the guard
// (and the Swift runtime statically) to start in a few milliseconds. `flywheel dcg hook` gives the
// same answers.
//
//   flywheel-guard hook [--config /abs/policy.toml]   answer one hook call read from stdin
#if canImport(Glibc)
import Glibc
#endif
import Guard

/// Writes a line straight to a descriptor.
func emit(_ text: String, to descriptor: Int32) {
    let bytes = Array((text + "\n").utf8)
    var written = 0
    while written < bytes.count {
        let count = bytes[written...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
        if count < 0, errno == EINTR { continue }
        guard count > 0 else { return }
        written += count
    }
}
let usage = "usage: flywheel-guard hook [--config /absolute/policy.toml]"
var arguments = CommandLine.arguments.dropFirst()
guard arguments.first == "hook" else {
    if arguments.first == "--help" || arguments.first == "-h" {
        emit(usage, to: 1)
        exit(0)
    }
    emit(usage, to: 2)
    // Exit 2: a hook that cannot run must block, never allow.
    exit(2)
}
arguments = arguments.dropFirst()
var config: String?
while let argument = arguments.first {
    arguments = arguments.dropFirst()
    if argument == "--config", let value = arguments.first {
        config = value
        arguments = arguments.dropFirst()
    } else if argument.hasPrefix("--config=") {
        config = String(argument.dropFirst("--config=".count))
    } else {
        emit("flywheel-guard: unknown argument '\(argument)'; refusing the tool call", to: 2)
        exit(2)
    }
}
// Plain reads and writes: Foundation's file handles cost start-up time this executable is for saving.
var input: [UInt8] = []
var chunk = [UInt8](repeating: 0, count: 1 << 16)
while true {
    let count = chunk.withUnsafeMutableBytes { read(0, $0.baseAddress, $0.count) }
    if count < 0, errno == EINTR { continue }
    guard count > 0 else { break }
    input.append(contentsOf: chunk[0..<count])
}
var environment: [String: String] = [:]
for name in ["FLYWHEEL_DCG_CONFIG", "XDG_CONFIG_HOME", "HOME", "FLYWHEEL_HOOK_SOCKET", "FLYWHEEL_HOOK_WAIT_SECONDS"] {
    if let value = getenv(name) { environment[name] = String(cString: value) }
}
let answer = GuardHook.answer(input: input, explicitConfig: config, environment: environment)
if let output = answer.output { emit(output, to: 1) }
if let error = answer.error { emit(error, to: 2) }
exit(answer.status)
