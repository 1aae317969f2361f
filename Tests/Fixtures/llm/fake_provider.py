#!/usr/bin/env python3
"""A stand-in for an LLM provider's HTTP API, for the SDK driver's tests.

It answers each request (POST or GET) with the next scripted response, byte for byte as the test wrote it (the
tests write the providers' documented streaming formats), in the chunks the test chose, and logs
every request it received. Only the Python standard library is used.

    fake_provider.py SCRIPT LOG PORTFILE

SCRIPT is a JSON file: {"responses": [response, ...]}, each response
    {"status": 200, "headers": [["name", "value"], ...], "chunks": ["raw text", ...],
     "chunks_b64": ["base64", ...],   (instead of chunks: raw bytes, split anywhere, even in UTF-8)
     "chunk_delay_ms": 0,
     "end": "complete" | "hang" | "close"}
"complete" ends the chunked body properly; "hang" keeps the connection open after the chunks
(until the client goes away, by an orderly close or a reset); "close" drops the connection without ending the body.
Each chunk goes out as its own HTTP chunk, flushed, so the client reads the splits the test chose.

LOG gets one JSON line per request: {"method", "path", "headers" (lower-case names), "body" (parsed JSON,
or the text when it is not JSON), "response" (the index of the response given)}, and a line
{"event": "client_closed", "response": i} when the client closed a hanging response.
Once it listens on 127.0.0.1, the server writes its port to PORTFILE (atomically).
"""
import base64
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Script:
    def __init__(self, path, log_path):
        with open(path, encoding="utf-8") as handle:
            self.responses = json.load(handle)["responses"]
        self.next = 0
        self.lock = threading.Lock()
        self.log_path = log_path

    def take(self, request):
        with self.lock:
            index = self.next
            self.next += 1
            request["response"] = index
            with open(self.log_path, "a", encoding="utf-8") as log:
                log.write(json.dumps(request) + "\n")
            if index < len(self.responses):
                return index, self.responses[index]
        return index, {
            "status": 500,
            "headers": [["content-type", "application/json"]],
            "chunks": ['{"error": {"type": "test_error", "message": "the test scripted no response %d"}}' % index],
        }


    def note(self, entry):
        with self.lock:
            with open(self.log_path, "a", encoding="utf-8") as log:
                log.write(json.dumps(entry) + "\n")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    script = None

    def log_message(self, format, *args):
        pass

    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", "replace")
        request = {"method": self.command, "path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
        index, response = self.script.take(request)
        self.send_response_only(response.get("status", 200))
        for name, value in response.get("headers", []):
            self.send_header(name, value)
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        delay = response.get("chunk_delay_ms", 0) / 1000
        try:
            chunks = [c.encode("utf-8") for c in response.get("chunks", [])]
            chunks += [base64.b64decode(c) for c in response.get("chunks_b64", [])]
            for data in chunks:
                if data:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                    self.wfile.flush()
                if delay:
                    time.sleep(delay)
            end = response.get("end", "complete")
            if end == "complete":
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
            elif end == "hang":
                # Until the client closes: a read then returns nothing, or fails with a reset when
                # the client closed with bytes of ours still unread (an aborted request often does).
                self.connection.settimeout(60)
                try:
                    while self.connection.recv(1024):
                        pass
                except ConnectionResetError:
                    pass
                self.script.note({"event": "client_closed", "response": index})
                self.close_connection = True
            else:
                self.close_connection = True
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            self.close_connection = True

    do_GET = do_POST


def exit_with_parent():
    """Ends the server when the test process that started it is gone, even if it crashed."""
    parent = os.getppid()
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(0)


def main():
    threading.Thread(target=exit_with_parent, daemon=True).start()
    script_path, log_path, port_path = sys.argv[1], sys.argv[2], sys.argv[3]
    Handler.script = Script(script_path, log_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    with open(port_path + ".tmp", "w", encoding="utf-8") as handle:
        handle.write(str(server.server_address[1]))
    os.rename(port_path + ".tmp", port_path)
    server.serve_forever()


if __name__ == "__main__":
    main()
