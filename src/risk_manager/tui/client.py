"""HTTP/WebSocket client of the local API (used by the terminal dashboard and ``status``)."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable

import aiohttp

from risk_manager.types import JSON, Sleep

DEFAULT_URL = "http://127.0.0.1:8765"


class ApiUnreachable(Exception):
    """The daemon's API did not answer (not running, wrong --url, or blocked)."""


async def fetch_status(url: str, wait: float = 5.0) -> tuple[JSON, list[JSON]]:
    """``GET /health`` and ``GET /api/v1/accounts`` once; health is read even when 503."""
    base = url.rstrip("/")
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=wait)) as s:
            async with s.get(f"{base}/health") as r:
                health: JSON = await r.json()
            async with s.get(f"{base}/api/v1/accounts") as r:
                r.raise_for_status()
                accounts: list[JSON] = (await r.json())["accounts"]
    except (aiohttp.ClientError, TimeoutError, ValueError, KeyError) as exc:
        raise ApiUnreachable(
            f"risk-manager daemon not reachable at {base} ({type(exc).__name__}: {exc}); "
            "is it running? pass --url if it listens elsewhere"
        ) from exc
    return health, accounts


def _json_object(text: str) -> JSON | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def stream_url(url: str) -> str:
    base = url.rstrip("/")
    if base.startswith("https://"):
        return "wss://" + base.removeprefix("https://") + "/api/v1/stream"
    return "ws://" + base.removeprefix("http://") + "/api/v1/stream"


async def follow_stream(
    url: str,
    on_message: Callable[[JSON], None],
    on_connection: Callable[[bool, str], None],
    *,
    min_delay: float = 0.25,
    max_delay: float = 5.0,
    sleep: Sleep = asyncio.sleep,
) -> None:
    """Follow ``/api/v1/stream`` forever, reconnecting with capped backoff and jitter.

    ``on_connection(True, "live")`` after each connect; ``on_connection(False, why)`` on each
    loss, before waiting to retry. Cancel the task to stop.
    """
    delay = min_delay
    async with aiohttp.ClientSession() as session:
        while True:
            why = "closed by the daemon"
            try:
                async with session.ws_connect(stream_url(url), heartbeat=10.0) as ws:
                    on_connection(True, "live")
                    delay = min_delay
                    async for msg in ws:
                        if msg.type == aiohttp.WSMsgType.TEXT:
                            message = _json_object(msg.data)
                            if message is not None:  # a newer or broken daemon: skip it
                                on_message(message)
                        elif msg.type == aiohttp.WSMsgType.ERROR:
                            why = f"stream error: {ws.exception()}"
                            break
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                why = f"{type(exc).__name__}: {exc}"[:120] if str(exc) else type(exc).__name__
            on_connection(False, why)
            await sleep(delay * (1 + random.random() / 4))
            delay = min(delay * 2, max_delay)
