"""The benches' trader in a process of its own: the buys that make each breach.

A trader's platform is another program: its orders and their replies never run on the
guard's event loop. ``bench e2e`` and ``bench accounts`` measure breach → enforcement on the
daemon's loop, so the buy that makes each breach goes out from this child process
(``python -m risk_manager.runtime.bench_trader URL``), not from an HTTP client on the
measured loop, whose reply (parsing, the caller's task) would land inside the breach it caused
(docs/PERFORMANCE.md, end-to-end latency).

The child logs in to the simulator with the bench user, then reads its stdin a line at a time:

- ``buy ACCOUNT_ID CONTRACT_ID``: it places a market buy of 1 (``Order/place``) and keeps the
  outcome;
- ``result``: it writes ``ok`` or ``error: WHY`` for the buys since the last ``result``.

It writes ``ready`` once logged in, and nothing else but a ``result``'s answer: a line it
cannot read is an error told at the next ``result`` (an unsolicited reply would be read as
the next buy's outcome). The parent asks for the result only after the breach is
measured, so the only work on the daemon's loop while a breach is in flight is one pipe write.
Blocking ``http.client`` with one keep-alive connection: the child does nothing else.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import sys
from typing import Any, TextIO
from urllib.parse import urlsplit

from risk_manager.runtime.bench_child import BenchChild
from risk_manager.sim.server import DEFAULT_API_KEY, DEFAULT_USERNAME

MODULE = "risk_manager.runtime.bench_trader"
READY_WITHIN = 30.0  # seconds for the child to start and log in
REPLY_WITHIN = 10.0  # seconds for a ``result`` to come back


class TraderProcess(BenchChild):
    """The parent's side: ``buy`` writes one line to the child (no await: nothing of the
    trader runs on this loop during a breach); ``result`` then reads the buys' outcome.
    ``started(url)``: the child for the simulator at ``url``, logged in (``BenchChild``)."""

    MODULE = MODULE
    WHAT = "trader"
    READY_WITHIN = READY_WITHIN

    def buy(self, account_id: int, contract_id: str) -> None:
        """Ask the child to buy 1 of ``contract_id`` at market on ``account_id``."""
        self._write(f"buy {account_id} {contract_id}")

    async def result(self) -> None:
        """The buys since the last call went through; raises ``RuntimeError`` with the child's
        reason otherwise (a refusal, no reply within ``REPLY_WITHIN`` seconds)."""
        self._write("result")
        assert self._proc.stdin is not None
        await self._proc.stdin.drain()
        line = await self._line(REPLY_WITHIN)
        if line != "ok":
            raise RuntimeError(f"the bench's trader: {line or 'no reply'}")


class _Client:
    """The child's side: one keep-alive connection to the simulator's REST API."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.hostname is None or parts.port is None:
            raise ValueError(f"the simulator's URL names no host and port: {url}")
        self._conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10.0)
        self._headers = {"Content-Type": "application/json", "Accept": "application/json"}

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        self._conn.request("POST", path, json.dumps(body), self._headers)
        reply = self._conn.getresponse()
        text = reply.read().decode()
        if reply.status != 200:
            raise RuntimeError(f"{path}: HTTP {reply.status}: {text[:200]}")
        data = json.loads(text)
        if not isinstance(data, dict) or data.get("success") is not True:
            raise RuntimeError(f"{path} refused: {text[:200]}")
        return data

    def login(self) -> None:
        reply = self.post(
            "/api/Auth/loginKey", {"userName": DEFAULT_USERNAME, "apiKey": DEFAULT_API_KEY}
        )
        self._headers["Authorization"] = f"Bearer {reply['token']}"

    def buy(self, account_id: int, contract_id: str) -> None:
        body = {"accountId": account_id, "contractId": contract_id, "type": 2, "side": 0, "size": 1}
        self.post("/api/Order/place", body)


def serve(url: str, commands: TextIO, replies: TextIO) -> None:
    """The child's loop (see the module's docstring) until ``commands`` ends."""
    try:
        client = _Client(url)
        client.login()
    except (OSError, RuntimeError, ValueError, http.client.HTTPException) as exc:
        print(f"error: cannot log in to {url}: {exc}", file=replies, flush=True)
        return
    print("ready", file=replies, flush=True)
    failed: str | None = None
    for line in commands:
        words = line.split()
        if words[:1] == ["buy"] and len(words) == 3:
            if failed is None:
                try:
                    client.buy(int(words[1]), words[2])
                except (OSError, RuntimeError, ValueError, http.client.HTTPException) as exc:
                    # HTTPException: a reply cut short (IncompleteRead) is not an OSError
                    failed = f"error: {type(exc).__name__}: {exc}"
        elif words == ["result"]:
            print(failed or "ok", file=replies, flush=True)
            failed = None
        elif failed is None:
            failed = f"error: unknown command {line.strip()!r}"


def main() -> None:
    if len(sys.argv) != 2:
        print(f"usage: python -m {MODULE} SIMULATOR_URL", file=sys.stderr)
        raise SystemExit(2)
    with contextlib.suppress(KeyboardInterrupt, BrokenPipeError):
        serve(sys.argv[1], sys.stdin, sys.stdout)


if __name__ == "__main__":
    main()
