import Foundation
import Host
import Logging

/// Plugin figures: how long loading the shipped drivers takes, and what one event costs to cross
/// from a driver thread into the host's queue.
enum PluginBenchmarks {
    static let logger = Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() }

    /// Loads each shipped driver once (a library is opened once per process, so this is the cold
    /// load: file checks, dlopen, entry, init, descriptor) and then times `flywheel plugins list`.
    static func loadTimes() throws {
        let root = BenchmarkSupport.repositoryRoot
        print("== plugin load (release build of the main package)")
        try BenchmarkSupport.run(["swift", "build", "-c", "release", "--product", "flywheel"], in: root)
        for product in ["SDKDriver", "ACPDriver", "TmuxDriver"] {
            try BenchmarkSupport.run(["swift", "build", "-c", "release", "--product", product], in: root)
        }
        let release = root.appendingPathComponent(".build/release")
        var total: UInt64 = 0
        for product in ["SDKDriver", "ACPDriver", "TmuxDriver"] {
            let library = release.appendingPathComponent("lib\(product).so")
            let start = BenchmarkSupport.now()
            let plugin = try PluginLoader(logger: logger).load(library: library)
            let elapsed = BenchmarkSupport.now() - start
            total += elapsed
            BenchmarkSupport.figure("cold load \(plugin.descriptor.id)", BenchmarkSupport.format(nanoseconds: Double(elapsed)))
        }
        BenchmarkSupport.figure("cold load, all three", BenchmarkSupport.format(nanoseconds: Double(total)))

        var samples: [UInt64] = []
        for _ in 0..<10 {
            let start = BenchmarkSupport.now()
            try BenchmarkSupport.run([release.appendingPathComponent("flywheel").path, "plugins", "list"], in: root, quiet: true)
            samples.append(BenchmarkSupport.now() - start)
        }
        samples.sort()
        BenchmarkSupport.figure("`flywheel plugins list` process, median of 10", BenchmarkSupport.format(nanoseconds: Double(samples[5])))
    }

    /// One million events from two driver threads, drained by the host as a session would (batches).
    static func eventCrossing(perThread: Int = 500_000, threads: Int = 2) async throws {
        print("== event crossing: driver emit -> host queue, including the copy")
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("flywheel-bench-burst-\(getpid()).so")
        try BenchmarkSupport.run([
            "cc", "-std=c11", "-O2", "-shared", "-fPIC", "-pthread",
            "-I", BenchmarkSupport.repositoryRoot.appendingPathComponent("Sources/PluginABI/include").path,
            "-o", output.path, BenchmarkSupport.repositoryRoot.appendingPathComponent("Benchmarks/Drivers/burst_driver.c").path,
        ])
        let plugin = try PluginLoader(logger: logger).load(library: output)
        let instance = try plugin.makeDriver()
        let total = perThread * threads
        for round in 1...3 {
            let start = BenchmarkSupport.now()
            let run = try instance.execute(taskJSON: #"{"schema":"flywheel.task/1","prompt":"\#(perThread) \#(threads)"}"#)
            var received = 0
            var batches = 0
            // The burst driver emits `total` ticks and then one terminal event.
            draining: while let batch = await run.next() {
                batches += 1
                for item in batch {
                    guard case .event = item else { continue }
                    received += 1
                    if received == total + 1 { break draining }
                }
            }
            let elapsed = Double(BenchmarkSupport.now() - start)
            run.finish()
            BenchmarkSupport.figure(
                "round \(round): \(total) events from \(threads) threads",
                "\(BenchmarkSupport.format(nanoseconds: elapsed / Double(total))) per event (\(String(format: "%.2f", Double(total) / elapsed * 1e3)) M events/s, \(batches) batches)",
                target: "< 1 µs per event")
        }
        instance.destroy()
    }
}
