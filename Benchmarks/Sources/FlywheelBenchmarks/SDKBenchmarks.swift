import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Host
import Hummingbird
import Logging

/// The SDK driver in a whole gateway against a local server streaming an Anthropic Messages reply
/// of N text deltas: the driver's cost per streamed token event, from the server's bytes to stored
/// events, beside the time a plain HTTP client takes to read the same body.
enum SDKBenchmarks {
    /// Text deltas per reply; FLYWHEEL_BENCH_SDK_DELTAS overrides.
    static var deltas: Int { Int(ProcessInfo.processInfo.environment["FLYWHEEL_BENCH_SDK_DELTAS"] ?? "") ?? 50_000 }

    static func body(deltas: Int) -> [ByteBuffer] {
        func event(_ name: String, _ data: String) -> String { "event: \(name)\ndata: \(data)\n\n" }
        var parts = [event("message_start", #"{"type":"message_start","message":{"id":"msg_bench","type":"message","role":"assistant","content":[],"model":"bench","usage":{"input_tokens":10,"output_tokens":1}}}"#),
                     event("content_block_start", #"{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}"#)]
        for index in 0..<deltas {
            parts.append(event("content_block_delta", #"{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"tok\#(index % 10) "}}"#))
        }
        parts += [event("content_block_stop", #"{"type":"content_block_stop","index":0}"#),
                  event("message_delta", #"{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":\#(deltas)}}"#),
                  event("message_stop", #"{"type":"message_stop"}"#)]
        // One write per event, as a provider flushes each one.
        return parts.map { ByteBuffer(string: $0) }
    }

    static func run() async throws {
        let count = deltas
        let chunks = body(deltas: count)
        let router = Router()
        router.post("/v1/messages") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/event-stream"], body: ResponseBody { writer in
                for chunk in chunks { try await writer.write(chunk) }
                try await writer.finish(nil)
            })
        }
        let ports = AsyncStream<Int>.makeStream()
        let server = Task {
            let started = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                                      onServerRunning: { channel in ports.continuation.yield(channel.localAddress?.port ?? 0) },
                                      logger: Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() })
            try await started.runService()
        }
        defer { server.cancel() }
        var iterator = ports.stream.makeAsyncIterator()
        guard let port = await iterator.next() else { return }
        let url = "http://127.0.0.1:\(port)"

        print("== sdk: a streamed reply of \(count) text deltas, one write each")
        var request = URLRequest(url: URL(string: url + "/v1/messages")!)
        request.httpMethod = "POST"
        var bare: [Double] = []
        for _ in 1...3 {
            let start = BenchmarkSupport.now()
            let (data, _) = try await URLSession.shared.data(for: request)
            bare.append(Double(BenchmarkSupport.now() - start) / 1e9)
            precondition(data.count > count)
        }
        let bareBest = bare.min()!
        BenchmarkSupport.figure("plain read", String(format: "%.1f ms for the body (URLSession, best of 3): %.2f µs per delta", bareBest * 1e3, bareBest * 1e6 / Double(count)))

        let bench = try await DriverGateway.open(product: "SDKDriver", name: "sdk")
        defer { bench.remove() }
        let gateway = bench.gateway
        _ = try await gateway.accounts.add(provider: "anthropic", label: "bench", credentialsJSON: #"{"api_key":"sk-bench"}"#)
        let config = #"{"model":"bench","base_url":"\#(url)","max_retries":0}"#
        let agent = try await gateway.agents.put(AgentService.Definition(name: "sdk", driverID: "flywheel.sdk", configJSON: config))
        guard let service = gateway.service() else { return }
        let loop = Task { try await service.run() }
        defer { loop.cancel() }
        for round in 1...3 {
            let run = try await bench.runSession(agentID: agent.id, task: "stream", counting: "message")
            BenchmarkSupport.figure("round \(round) (\(run.state.rawValue))", String(
                format: "%.1f ms session start to end: %.2f µs per delta, %.2f µs over the plain read (%d message events stored, %d bytes)",
                run.seconds * 1e3, run.seconds * 1e6 / Double(count), (run.seconds - bareBest) * 1e6 / Double(count), run.events, run.bytes))
        }
        loop.cancel()
        _ = await loop.result
    }
}
