"""A small notes server on the official MCP Python SDK, for pincer-mcp's tests.

Tools: read_note (readOnlyHint), write_note (no hints), fail (reports a tool
error), slow (answers after a while), pid (the process id, so a test can
check the process is gone).

  --transport streamable-http --port N   serve HTTP on 127.0.0.1:N at /mcp
  --require-header NAME=VALUE            answer 401 to requests without it
  --crash-after N                        exit, unanswered, on call N+1
  --garbage                              print non-JSON on stdout, never MCP
  --linger                               stay alive after stdin closes, so only
                                         a signal ends it
"""

import argparse
import asyncio
import os
import sys

parser = argparse.ArgumentParser()
parser.add_argument("--transport", default="stdio", choices=["stdio", "streamable-http"])
parser.add_argument("--port", type=int, default=8000)
parser.add_argument("--require-header", default=None)
parser.add_argument("--crash-after", type=int, default=0)
parser.add_argument("--garbage", action="store_true")
parser.add_argument("--linger", action="store_true")
args = parser.parse_args()

if args.garbage:
    # Answers every line it is sent with something that is not JSON-RPC.
    print("hello, this is not MCP", flush=True)
    for _line in sys.stdin:
        print("garbage garbage", flush=True)
    sys.exit(0)

from mcp.server.mcpserver import MCPServer  # noqa: E402
from mcp.server.mcpserver.exceptions import ToolError  # noqa: E402
from mcp_types import ToolAnnotations  # noqa: E402

server = MCPServer("notes")
notes: dict[str, str] = {}
calls = 0


def count_call() -> None:
    global calls
    calls += 1
    if args.crash_after and calls > args.crash_after:
        print(f"crashing on call {calls} as asked", file=sys.stderr, flush=True)
        os._exit(3)


@server.tool(annotations=ToolAnnotations(readOnlyHint=True))
def read_note(title: str) -> str:
    """Reads the note called title."""
    count_call()
    return notes.get(title, f"no note called {title}")


@server.tool()
def write_note(title: str, text: str) -> str:
    """Writes text as the note called title."""
    count_call()
    notes[title] = text
    return f"saved {title}"


@server.tool()
def fail(message: str) -> str:
    """Always fails, with message."""
    count_call()
    raise ToolError(message)


@server.tool(annotations=ToolAnnotations(readOnlyHint=True))
async def slow(seconds: float) -> str:
    """Answers after seconds."""
    count_call()
    await asyncio.sleep(seconds)
    return "done"


@server.tool(annotations=ToolAnnotations(readOnlyHint=True))
def pid() -> str:
    """The server's process id."""
    count_call()
    return str(os.getpid())


class RequireHeader:
    """ASGI middleware: 401 for an HTTP request without the header."""

    def __init__(self, app, name: str, value: str):
        self.app, self.name, self.value = app, name.lower().encode(), value.encode()

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and dict(scope["headers"]).get(self.name) != self.value:
            await send({"type": "http.response.start", "status": 401, "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": b"missing or wrong credentials"})
            return
        await self.app(scope, receive, send)


if args.transport == "stdio":
    server.run()
    if args.linger:
        import time

        time.sleep(3600)
else:
    import uvicorn

    app = server.streamable_http_app(host="127.0.0.1")
    if args.require_header:
        name, _, value = args.require_header.partition("=")
        app = RequireHeader(app, name, value)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")
