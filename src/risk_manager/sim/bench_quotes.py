"""Benchmark: GatewayQuote events per second the hub server delivers to one subscriber.

Runs the hub server on 127.0.0.1 (port 0) and one subscriber in the same process and event loop
(so both share one core), publishes quotes with at most `--window` undelivered, and reports the
rate at which the subscriber received them. Run: `python -m risk_manager.sim.bench_quotes`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import time
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from risk_manager.signalr import HANDSHAKE_REQUEST, RecordBuffer, encode_record, invocation_record
from risk_manager.sim.hub_site import serving_hubs

_TOKEN = "bench-token"  # noqa: S105 - a throwaway token for a loopback server
_CONTRACT = "CON.F.US.EP.Z25"


@dataclass(frozen=True, slots=True)
class BenchResult:
    client: str
    events: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.events / self.seconds


def _quote(n: int) -> dict[str, Any]:
    # A full quote as documented in §7.4 (the simulator may send fewer fields).
    price = 6000 + (n % 40) * 0.25
    return {
        "symbol": "F.US.EP",
        "symbolName": "/ES",
        "lastPrice": price,
        "bestBid": price - 0.25,
        "bestAsk": price,
        "change": 12.5,
        "changePercent": 0.21,
        "open": 5990.0,
        "high": 6010.0,
        "low": 5985.5,
        "volume": 100_000 + n,
        "lastUpdated": "2026-05-06T13:36:03.6112156+00:00",
        "timestamp": "2026-05-06T13:36:03.6112156+00:00",
    }


class _Counter:
    def __init__(self) -> None:
        self.received = 0
        self.progress = asyncio.Event()

    def add(self, n: int) -> None:
        self.received += n
        self.progress.set()


async def _raw_subscriber(host: str, counter: _Counter, ready: asyncio.Event) -> None:
    url = f"ws://{host}/hubs/market?access_token={_TOKEN}"
    async with aiohttp.ClientSession() as session, session.ws_connect(url) as ws:
        await ws.send_str(HANDSHAKE_REQUEST)
        await ws.receive()  # {} handshake reply
        await ws.send_str(invocation_record("SubscribeContractQuotes", [_CONTRACT], "1"))
        await ws.receive()  # the Completion: subscribed
        ready.set()
        inbox = RecordBuffer(1 << 20)
        async for msg in ws:
            records = [json.loads(r) for r in inbox.feed(msg.data)]
            counter.add(sum(1 for r in records if r.get("target") == "GatewayQuote"))


async def _pysignalr_subscriber(host: str, counter: _Counter, ready: asyncio.Event) -> None:
    from pysignalr.client import SignalRClient

    client = SignalRClient(f"ws://{host}/hubs/market?access_token={_TOKEN}")
    client._transport._skip_negotiation = True  # SignalRClient has no such argument

    async def on_quote(_: list[Any]) -> None:
        counter.add(1)

    async def on_subscribed(_: Any) -> None:
        ready.set()

    async def on_open() -> None:
        # pysignalr annotates arguments as list[dict]; hub methods take plain values.
        arguments: list[Any] = [_CONTRACT]
        await client.send("SubscribeContractQuotes", arguments, on_invocation=on_subscribed)

    client.on("GatewayQuote", on_quote)
    client.on_open(on_open)
    await client.run()


async def run_bench(count: int, window: int, client: str) -> BenchResult:
    subscriber = {"raw": _raw_subscriber, "pysignalr": _pysignalr_subscriber}[client]
    counter, ready = _Counter(), asyncio.Event()
    async with serving_hubs(lambda token: token == _TOKEN) as (hubs, base):
        host = base.removeprefix("http://")
        task = asyncio.create_task(subscriber(host, counter, ready), name="bench-subscriber")
        try:
            await asyncio.wait_for(ready.wait(), 10)
            start = time.perf_counter()
            for n in range(count):
                while n - counter.received >= window:
                    counter.progress.clear()
                    await counter.progress.wait()
                await hubs.publish_quote(_CONTRACT, _quote(n))
                if n % 64 == 0:
                    await asyncio.sleep(0)  # let the writer and the subscriber run
            while counter.received < count:
                counter.progress.clear()
                await asyncio.wait_for(counter.progress.wait(), 10)
            seconds = time.perf_counter() - start
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
    return BenchResult(client, count, seconds)


FLOOR_BATCH = 256  # records a frame, as the hub's writer sends them at most


async def run_floor(count: int, window: int) -> BenchResult:
    """The floor of ``run_bench``: the same quotes, serialised the same way, sent by a bare
    aiohttp WebSocket handler (no hub server, no subscription book, no per-connection
    queue) in frames of ``FLOOR_BATCH`` records, to the same raw subscriber in this process."""
    counter, ready = _Counter(), asyncio.Event()

    async def handler(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.receive()  # the handshake request
        await ws.send_str(encode_record({}))
        await ws.receive()  # the subscription
        await ws.send_str(encode_record({"type": 3, "invocationId": "1"}))
        await ready.wait()
        for first in range(0, count, FLOOR_BATCH):
            while first - counter.received >= window:
                counter.progress.clear()
                await counter.progress.wait()
            last = min(count, first + FLOOR_BATCH)
            records = (
                invocation_record("GatewayQuote", [_CONTRACT, _quote(n)])
                for n in range(first, last)
            )
            frame = "".join(records)
            await ws.send_str(frame)
        await ws.receive()  # until the subscriber leaves
        return ws

    app = web.Application()
    app.router.add_get("/hubs/market", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host = "{}:{}".format(*runner.addresses[0][:2])
        task = asyncio.create_task(_raw_subscriber(host, counter, ready), name="floor-subscriber")
        try:
            await asyncio.wait_for(ready.wait(), 10)
            start = time.perf_counter()
            while counter.received < count:
                counter.progress.clear()
                await asyncio.wait_for(counter.progress.wait(), 10)
            seconds = time.perf_counter() - start
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
    finally:
        await runner.cleanup()
    return BenchResult("floor", count, seconds)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=50_000, help="quotes to deliver")
    parser.add_argument("--window", type=int, default=1_000, help="max undelivered quotes")
    parser.add_argument("--client", choices=["pysignalr", "raw", "both"], default="both")
    args = parser.parse_args(argv)
    clients = ["pysignalr", "raw"] if args.client == "both" else [args.client]
    machine = f"{platform.machine()}, {os.cpu_count()} CPU(s)"
    print(f"machine: {machine}, Python {platform.python_version()}")
    for client in clients:
        result = asyncio.run(run_bench(args.count, args.window, client))
        print(
            f"{client:>9}: {result.events} quotes in {result.seconds:.2f} s = "
            f"{result.per_second:,.0f} quotes/s delivered"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
