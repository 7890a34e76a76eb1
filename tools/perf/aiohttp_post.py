"""The loop's CPU for one aiohttp POST, warm: from the call to the request's bytes handed to
the socket, on a keep-alive connection to a local aiohttp server in another process (a
partial close's body and headers, as the product sends them). Set beside ``tools/e2e_stages.py``'s
"loop CPU rest -> wrote" (the same work inside a breach, after the journal's commit).

    .venv/bin/python tools/perf/aiohttp_post.py [REQUESTS]    (default 2,000; the first 100 warm)

docs/PERFORMANCE.md "End-to-end enforcement latency".
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import sys
import time
from asyncio import selector_events
from typing import Any

import aiohttp

SERVER = """
import sys
from aiohttp import web
async def answer(request):
    await request.read()
    return web.json_response({"success": True, "errorCode": 0})
app = web.Application()
app.router.add_post("/api/Position/partialCloseContract", answer)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
"""
BODY = {"accountId": 20000001, "contractId": "CON.F.US.MNQ.Z26", "size": 1}
HEADERS = {
    "Content-Type": "application/json",
    "Accept": "application/json",
    "Authorization": "Bearer " + "x" * 400,  # a session token's length
}
WARM = 100


async def _measure(port: int, requests: int) -> list[float]:
    transport: Any = getattr(selector_events, "_SelectorSocketTransport")  # noqa: B009
    write = transport.write
    wrote: list[int] = []

    def stamped(self: Any, data: Any) -> None:
        wrote.append(time.thread_time_ns())
        write(self, data)

    transport.write = stamped
    url = f"http://127.0.0.1:{port}/api/Position/partialCloseContract"
    took: list[float] = []
    try:
        async with aiohttp.ClientSession() as session:
            for n in range(requests + WARM):
                wrote.clear()
                started = time.thread_time_ns()
                async with session.post(url, data=json.dumps(BODY), headers=HEADERS) as reply:
                    await reply.read()
                if n >= WARM and wrote:
                    took.append((wrote[0] - started) / 1e3)
    finally:
        transport.write = write
    return took


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def main(requests: int) -> None:
    port = _free_port()
    server = await asyncio.create_subprocess_exec(sys.executable, "-c", SERVER, str(port))
    try:
        for _ in range(100):  # until it listens
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
            writer.close()
            break
        took = await _measure(port, requests)
    finally:
        server.terminate()
        await server.wait()
    if not took:  # the socket write was not seen (another Python's transport)
        raise SystemExit("no request reached _SelectorSocketTransport.write: nothing timed")
    took.sort()
    print(
        f"{len(took)} POSTs: the loop's CPU from the call to the socket write p50 "
        f"{statistics.median(took):.1f} us, p90 {took[int(len(took) * 0.9)]:.1f} us"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("requests", nargs="?", type=int, default=2_000)
    asyncio.run(main(parser.parse_args().requests))
