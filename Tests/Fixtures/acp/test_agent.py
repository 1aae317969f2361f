"""Test agents for the ACP driver, written with the Python `agent-client-protocol` SDK (PyPI).

Run as `python test_agent.py MODE`; the driver talks to it over stdin/stdout. The prompt text gives
each mode its input. Modes:
  stream      streams a thought, a plan, the prompt echoed back in many small chunks, and a mode update
  permission  asks permission for the shell command in the prompt (for an edit of a file when the
              prompt is `edit:<path>`, relative to the workspace), then reports the outcome
  auth        offers the methods in $ACP_TEST_AUTH_METHODS and creates sessions only once authenticated
              with `token` while $ACP_TEST_TOKEN is `secret`; then streams like `stream`
  terminal    runs the prompt's command through terminal/create and reports its output and exit
  files       reads input.txt, writes out/result.txt, and tries paths outside the workspace
  crash       streams a chunk, then exits with status 3 mid-prompt
  hang        never ends its turn unless cancelled (then answers `cancelled`)
  deaf        never ends its turn and ignores cancel
  garbage     writes a line that is not JSON-RPC
  flood       writes one line of 64 MiB with no line end
  resumable   supports session/load: keeps its history in $ACP_TEST_STATE and replays it on load
  chatty      sends an update every 50 ms and never ends its turn
  grandchild  starts `sleep 600` (which keeps its output open) and exits with status 3
  deafread    asks for input.txt three times, then stops reading its input (blocks its event loop)
  bench       streams int(prompt) chunks as fast as it can
  bench_permission  asks int(prompt) permissions for `ls -la` in turn and reports their round trips,
              beside as many bare round trips (an unknown method) for comparison
"""

import asyncio
import json
import os
import sys

import acp
import acp.helpers
from acp import schema

MODE = sys.argv[1] if len(sys.argv) > 1 else "stream"


def text_of(prompt):
    return "".join(getattr(block, "text", "") for block in prompt)


class TestAgent:
    def __init__(self):
        self.authenticated = False
        self.conn = None
        self.cancelled = asyncio.Event()
        self.cwd = None

    def on_connect(self, conn):
        self.conn = conn

    async def initialize(self, protocol_version, client_capabilities=None, client_info=None, **kwargs):
        caps = schema.AgentCapabilities(load_session=(MODE == "resumable"))
        sys.stderr.write(f"test agent {MODE}: initialize from {client_info.name if client_info else '?'}, "
                         f"terminal={client_capabilities.terminal if client_capabilities else None}, cwd={os.getcwd()}\n")
        sys.stderr.flush()
        methods = []
        if MODE == "auth":
            methods = [schema.AuthMethodAgent(id=name, name=name) for name in os.environ["ACP_TEST_AUTH_METHODS"].split(",")]
        return schema.InitializeResponse(protocol_version=1, agent_capabilities=caps, auth_methods=methods)

    async def authenticate(self, method_id, **kwargs):
        if method_id != "token" or os.environ.get("ACP_TEST_TOKEN") != "secret":
            raise acp.RequestError(-32000, "Authentication failed", {"methodId": method_id})
        self.authenticated = True
        return None

    async def new_session(self, cwd, mcp_servers=None, **kwargs):
        if MODE == "auth" and not self.authenticated:
            raise acp.RequestError.auth_required()
        self.cwd = cwd
        session_id = f"sess-{os.getpid()}"
        if MODE == "resumable":
            self.save({"session_id": session_id, "history": []})
        return schema.NewSessionResponse(session_id=session_id)

    async def load_session(self, cwd, session_id, mcp_servers=None, **kwargs):
        self.cwd = cwd
        state = self.load()
        if state is None or state["session_id"] != session_id:
            raise acp.RequestError(-32002, "Resource not found", {"sessionId": session_id})
        for role, text in state["history"]:
            update = acp.update_user_message_text(text) if role == "user" else acp.update_agent_message_text(text)
            await self.conn.session_update(session_id, update)
        return schema.LoadSessionResponse()

    def save(self, state):
        with open(os.environ["ACP_TEST_STATE"], "w") as handle:
            json.dump(state, handle)

    def load(self):
        try:
            with open(os.environ["ACP_TEST_STATE"]) as handle:
                return json.load(handle)
        except FileNotFoundError:
            return None

    async def say(self, session_id, text):
        await self.conn.session_update(session_id, acp.update_agent_message_text(text))

    async def cancel(self, session_id, **kwargs):
        if MODE != "deaf":
            self.cancelled.set()

    async def prompt(self, prompt, session_id, **kwargs):
        text = text_of(prompt)
        handler = getattr(self, "mode_" + MODE)
        return await handler(session_id, text)

    async def mode_stream(self, session_id, text):
        await self.conn.session_update(session_id, acp.update_agent_thought_text("thinking about it"))
        await self.conn.session_update(session_id, acp.update_plan([
            acp.plan_entry("echo the task", priority="high", status="in_progress")]))
        for index in range(0, len(text), 3):
            await self.say(session_id, text[index:index + 3])
        await self.conn.session_update(session_id, acp.helpers.update_current_mode("code"))
        return schema.PromptResponse(stop_reason="end_turn")

    async def mode_auth(self, session_id, text):
        return await self.mode_stream(session_id, text)

    async def mode_permission(self, session_id, text):
        kind, raw_input = "execute", {"command": text}
        options = [schema.PermissionOption(option_id="yes", name="Allow", kind="allow_once"),
                   schema.PermissionOption(option_id="no", name="Reject", kind="reject_once")]
        if text.startswith("always:"):
            raw_input = {"command": text[7:]}
            options[0] = schema.PermissionOption(option_id="always", name="Always allow", kind="allow_always")
        if text.startswith("edit:"):
            kind, raw_input = "edit", {"path": os.path.join(self.cwd, text[5:]), "content": "new"}
        call = acp.start_tool_call("call-1", "Run a tool", kind=kind, status="pending", raw_input=raw_input)
        await self.conn.session_update(session_id, call)
        response = await self.conn.request_permission(
            session_id=session_id,
            tool_call=schema.ToolCallUpdate(tool_call_id="call-1", title="Run a tool", kind=kind, raw_input=raw_input),
            options=options)
        outcome = response.outcome
        chosen = getattr(outcome, "option_id", None)
        await self.conn.session_update(session_id, acp.update_tool_call(
            "call-1", status="completed" if chosen == "yes" else "failed",
            content=[acp.tool_content(acp.text_block(f"permission: {outcome.outcome} {chosen}"))]))
        await self.say(session_id, f"outcome={outcome.outcome}:{chosen}")
        return schema.PromptResponse(stop_reason="end_turn")

    async def mode_terminal(self, session_id, text):
        created = await self.conn.create_terminal(session_id=session_id, command="sh", args=["-c", text],
                                                  env=[schema.EnvVariable(name="ACP_GREETING", value="hello from env")],
                                                  cwd=self.cwd, output_byte_limit=4096)
        exit_status = await self.conn.wait_for_terminal_exit(session_id=session_id, terminal_id=created.terminal_id)
        output = await self.conn.terminal_output(session_id=session_id, terminal_id=created.terminal_id)
        await self.conn.release_terminal(session_id=session_id, terminal_id=created.terminal_id)
        await self.say(session_id, json.dumps({"exit": exit_status.exit_code, "output": output.output,
                                               "final": output.exit_status.exit_code if output.exit_status else None}))
        return schema.PromptResponse(stop_reason="end_turn")

    async def mode_files(self, session_id, text):
        results = {}
        read = await self.conn.read_text_file(session_id=session_id, path=os.path.join(self.cwd, "input.txt"))
        results["read"] = read.content
        part = await self.conn.read_text_file(session_id=session_id, path=os.path.join(self.cwd, "input.txt"), line=2, limit=1)
        results["line2"] = part.content
        await self.conn.write_text_file(session_id=session_id, path=os.path.join(self.cwd, "out", "result.txt"),
                                        content=read.content.upper())
        for name, path in [("escape", os.path.join(self.cwd, "..", "outside.txt")),
                           ("absolute", "/etc/passwd"),
                           ("link", os.path.join(self.cwd, "link-out", "x.txt"))]:
            try:
                await self.conn.write_text_file(session_id=session_id, path=path, content="x")
                results[name] = "written"
            except acp.RequestError as error:
                results[name] = f"refused: {error}"
        try:
            await self.conn.read_text_file(session_id=session_id, path="/etc/hostname")
            results["read_outside"] = "read"
        except acp.RequestError as error:
            results["read_outside"] = f"refused: {error}"
        # A FIFO nobody writes would block a reader for ever; the workspace itself is no file.
        os.mkfifo(os.path.join(self.cwd, "pipe"))
        for name, call in [("fifo", self.conn.read_text_file(session_id=session_id, path=os.path.join(self.cwd, "pipe"))),
                           ("root", self.conn.write_text_file(session_id=session_id, path=self.cwd, content="x"))]:
            try:
                await asyncio.wait_for(call, 10)
                results[name] = "done"
            except acp.RequestError as error:
                results[name] = f"refused: {error}"
            except asyncio.TimeoutError:
                results[name] = "hung"
        try:
            await self.conn.write_text_file(session_id=session_id, path=os.path.join(self.cwd, ".git", "config"), content="x")
            results["git"] = "written"
        except acp.RequestError as error:
            results["git"] = f"refused: {error}"
        try:
            await self.conn.ext_method("acme/unknown", {})
            results["unknown_method"] = "answered"
        except acp.RequestError as error:
            results["unknown_method"] = error.code
        await self.say(session_id, json.dumps(results, sort_keys=True))
        return schema.PromptResponse(stop_reason="end_turn")

    async def mode_crash(self, session_id, text):
        await self.say(session_id, "about to crash")
        sys.stderr.write("test agent: crashing on purpose\n")
        sys.stderr.flush()
        os._exit(3)

    async def mode_hang(self, session_id, text):
        await self.say(session_id, "working forever")
        await self.cancelled.wait()
        return schema.PromptResponse(stop_reason="cancelled")

    async def mode_deaf(self, session_id, text):
        await self.say(session_id, "not listening")
        await asyncio.sleep(3600)

    @staticmethod
    def write_raw(data):
        # Past the SDK, straight to the descriptor (which its transport made non-blocking).
        os.set_blocking(1, True)
        view = memoryview(data)
        while view:
            view = view[os.write(1, view):]

    async def mode_garbage(self, session_id, text):
        self.write_raw(b"this is not json\n")
        await asyncio.sleep(3600)

    async def mode_flood(self, session_id, text):
        block = b"x" * (1 << 20)
        try:
            for _ in range(64):
                self.write_raw(block)
        except BrokenPipeError:
            pass
        await asyncio.sleep(3600)

    async def mode_resumable(self, session_id, text):
        state = self.load()
        state["history"].append(["user", text])
        await self.say(session_id, f"turn {len(state['history'])}: {text}")
        state["history"].append(["agent", f"turn {len(state['history'])}: {text}"])
        self.save(state)
        if text.startswith("wait"):
            await self.cancelled.wait()
            return schema.PromptResponse(stop_reason="cancelled")
        return schema.PromptResponse(stop_reason="end_turn")

    async def mode_chatty(self, session_id, text):
        while True:
            await self.conn.session_update(session_id, acp.update_agent_thought_text("."))
            await asyncio.sleep(0.05)

    async def mode_grandchild(self, session_id, text):
        import subprocess
        subprocess.Popen(["sleep", "600"])
        await self.say(session_id, "leaving a child behind")
        await asyncio.sleep(0.2)
        os._exit(3)

    async def mode_deafread(self, session_id, text):
        import time
        for _ in range(3):
            asyncio.ensure_future(self.conn.read_text_file(session_id=session_id, path=os.path.join(self.cwd, "input.txt")))
        await self.say(session_id, "not reading any more")
        await asyncio.sleep(0.5)
        time.sleep(3600)

    async def mode_bench(self, session_id, text):
        for index in range(int(text)):
            await self.say(session_id, f"chunk {index} ")
        return schema.PromptResponse(stop_reason="end_turn")

    async def mode_bench_permission(self, session_id, text):
        import time
        times = []
        for index in range(int(text)):
            started = time.perf_counter()
            await self.conn.request_permission(
                session_id=session_id,
                tool_call=schema.ToolCallUpdate(tool_call_id=f"call-{index}", kind="execute", raw_input={"command": "ls -la"}),
                options=[schema.PermissionOption(option_id="yes", name="Allow", kind="allow_once"),
                         schema.PermissionOption(option_id="no", name="Reject", kind="reject_once")])
            times.append((time.perf_counter() - started) * 1000)
        # The same number of bare round trips through the driver (an unknown method, answered at once),
        # so the permission's own cost can be told apart.
        bare = []
        for index in range(int(text)):
            started = time.perf_counter()
            try:
                await self.conn.ext_method("bench/ping", {})
            except acp.RequestError:
                pass
            bare.append((time.perf_counter() - started) * 1000)

        def summary(values):
            values = sorted(values)
            return {"mean_ms": round(sum(values) / len(values), 3), "p50_ms": round(values[len(values) // 2], 3),
                    "p99_ms": round(values[int(len(values) * 0.99)], 3)}

        await self.say(session_id, json.dumps({"count": len(times), "permission": summary(times), "bare_round_trip": summary(bare)}))
        return schema.PromptResponse(stop_reason="end_turn")


if __name__ == "__main__":
    asyncio.run(acp.run_agent(TestAgent()))
