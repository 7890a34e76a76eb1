"""The gateway API key (and a session token it buys) never leaves the daemon in clear: not in
its log, its read API, its live stream (what both dashboards read) or its SQLite file."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from risk_manager.sim.server import DEFAULT_API_KEY

from .conftest import Guard
from .helpers import BUY, SimTrader


def _store_bytes(db: Path) -> bytes:
    return b"".join(path.read_bytes() for path in sorted(db.parent.glob(db.name + "*")))


async def test_the_api_key_appears_nowhere_in_clear(
    guard: Guard, trader: SimTrader, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    await guard.start("  daily_realized_loss: {enabled: true, limit: 100}", serve_api=True)
    await trader.round_trip("MNQ", BUY, 2, "20950")  # a breach: a lock, a flatten, a journal
    await guard.wait_lock("daily_realized_loss")
    seen = [
        json.dumps(await guard.api(path))
        for path in ("accounts", f"accounts/{trader.account_id}", "enforcements")
    ]
    assert guard.api_url is not None
    async with trader.session.get(f"{guard.api_url}/health") as reply:
        seen.append(await reply.text())
    async with trader.session.ws_connect(f"{guard.api_url}/api/v1/stream") as ws:
        seen.append(str((await ws.receive()).data))
    await guard.stop()
    for text in (*seen, caplog.text):
        assert DEFAULT_API_KEY not in text
    assert DEFAULT_API_KEY.encode() not in _store_bytes(guard.db)
