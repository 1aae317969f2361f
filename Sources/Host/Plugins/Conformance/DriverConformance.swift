import Foundation

/// The conformance exercise behind `flywheel plugins validate`: drives one plugin through its whole
/// lifecycle and reports each step.
public struct DriverConformance: Sendable {
    public struct Check: Sendable, Codable, Equatable {
        public var name: String
        public var passed: Bool
        public var detail: String

        public init(name: String, passed: Bool, detail: String) {
            self.name = name
            self.passed = passed
            self.detail = detail
        }
    }

    /// How long a run may take to reach its terminal event, and a cancelled run to honour the cancel.
    public var runTimeout: Duration = .seconds(20)
    public var cancelTimeout: Duration = .seconds(5)

    public init() {}

    /// Runs every step; later steps are skipped (and fail) when an earlier one they need failed.
    public func run(plugin: LoadedPlugin, configJSON: String, workspace: URL) async -> [Check] {
        var checks: [Check] = []
        let descriptor = plugin.descriptor
        checks.append(Check(name: "describe", passed: true,
                            detail: "\(descriptor.id) \(descriptor.version) (\(descriptor.name)), ABI \(plugin.abiVersion)"))
        let instance: DriverInstance
        do {
            instance = try await plugin.createInstance(configJSON: configJSON)
            checks.append(Check(name: "start", passed: true, detail: "create_driver accepted the configuration"))
        } catch {
            checks.append(Check(name: "start", passed: false, detail: error.description))
            return checks
        }

        let task = Self.task(id: "validate-1", prompt: "Say hello.", workspace: workspace)
        do {
            let run = try await instance.startRun(taskJSON: task)
            checks.append(Check(name: "execute", passed: true, detail: "execute returned FLYWHEEL_OK (run \(run.id))"))
            let outcome = await RunCollector.collect(run, timeout: runTimeout)
            checks.append(outcome.eventsCheck)
            checks.append(outcome.terminalCheck)
        } catch {
            checks.append(Check(name: "execute", passed: false, detail: error.description))
        }

        let cancelTask = Self.task(id: "validate-2", prompt: "Count slowly to one million.", workspace: workspace)
        do {
            let run = try await instance.startRun(taskJSON: cancelTask)
            var note = "cancel returned FLYWHEEL_OK"
            do {
                try await instance.cancelRun(run.id)
            } catch where error.status == 4 {
                note = "the run had already ended (FLYWHEEL_ERR_NOT_FOUND)"
            } catch {
                checks.append(Check(name: "cancel", passed: false, detail: error.description))
                _ = await RunCollector.collect(run, timeout: cancelTimeout)
                return checks + [await Self.stop(instance)]
            }
            let outcome = await RunCollector.collect(run, timeout: cancelTimeout)
            if let terminal = outcome.terminal {
                checks.append(Check(name: "cancel", passed: outcome.problems.isEmpty,
                                    detail: "\(note); the run ended with '\(terminal)'" + outcome.problemSuffix))
            } else {
                checks.append(Check(name: "cancel", passed: false,
                                    detail: "\(note) but no terminal event arrived within \(cancelTimeout)"))
            }
        } catch {
            checks.append(Check(name: "cancel", passed: false, detail: "could not start a run to cancel: \(error.description)"))
        }
        checks.append(await Self.stop(instance))
        return checks
    }

    /// Destroys the instance on a thread of its own, so a driver that never returns cannot hang us.
    static func stop(_ instance: DriverInstance, timeout: Duration = .seconds(10)) async -> Check {
        let finished = await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await withCheckedContinuation { continuation in
                    let thread = Thread {
                        instance.destroy()
                        continuation.resume()
                    }
                    thread.start()
                }
                return true
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        return finished
            ? Check(name: "stop", passed: true, detail: "destroy returned")
            : Check(name: "stop", passed: false, detail: "destroy did not return within \(timeout)")
    }

    static func task(id: String, prompt: String, workspace: URL) -> String {
        let object: [String: Any] = ["schema": "flywheel.task/1", "session_id": id, "prompt": prompt, "workspace": workspace.path]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }
}
