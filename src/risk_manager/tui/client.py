"""HTTP/WebSocket client of the local API (used by the terminal dashboard and ``status``)."""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable

import aiohttp

from risk_manager.types import JSON, Sleep

DEFAULT_URL = "http://127.0.0.1:8765"
# Seconds without a message (the stream sends a heartbeat after 0.5 s of silence) after which
# the daemon counts as unreachable: a hung daemon closes nothing (issue 15: within 2 s).
SILENCE = 1.5


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


async def fetch_history(url: str, days: int = 7, wait: float = 5.0) -> JSON:
    """``GET /api/v1/history?days=N`` once; raises ``ApiUnreachable``."""
    base = url.rstrip("/")
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=wait)) as s,
            s.get(f"{base}/api/v1/history", params={"days": str(days)}) as r,
        ):
            r.raise_for_status()
            history: JSON = await r.json()
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        raise ApiUnreachable(f"history not read from {base} ({type(exc).__name__})") from exc
    return history


def _json_object(text: str) -> JSON | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


_CLOSED = (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSING, aiohttp.WSMsgType.CLOSED)


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
    silence: float = SILENCE,
) -> None:
    """Follow ``/api/v1/stream`` forever, reconnecting with capped backoff and jitter.

    ``on_connection(True, "live")`` after each connect; ``on_connection(False, why)`` on each
    loss (a close, an error, or ``silence`` seconds without a message), before waiting to
    retry. Cancel the task to stop.
    """
    delay = min_delay
    async with aiohttp.ClientSession() as session:
        while True:
            why = "closed by the daemon"
            try:
                async with session.ws_connect(stream_url(url), heartbeat=10.0) as ws:
                    on_connection(True, "live")
                    delay = min_delay
                    while True:
                        try:
                            msg = await ws.receive(timeout=silence)
                        except TimeoutError:
                            why = f"no word from the daemon for {silence:g} s"
                            break
                        if msg.type == aiohttp.WSMsgType.TEXT:
                            message = _json_object(msg.data)
                            if message is not None:  # a newer or broken daemon: skip it
                                on_message(message)
                        elif msg.type == aiohttp.WSMsgType.ERROR:
                            why = f"stream error: {ws.exception()}"
                            break
                        elif msg.type in _CLOSED:
                            break
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                why = f"{type(exc).__name__}: {exc}"[:120] if str(exc) else type(exc).__name__
            on_connection(False, why)
            await sleep(delay * (1 + random.random() / 4))
            delay = min(delay * 2, max_delay)
