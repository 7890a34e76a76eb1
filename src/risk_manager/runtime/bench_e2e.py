"""End-to-end enforcement latency: simulator in a child process, the daemon in this one.

The daemon guards ``accounts`` simulator accounts with one rule, ``max_contracts`` limit 1.
Each account holds 1 contract; a breach is the trader buying 1 more over REST: the simulator
sends the position update (size 2) on the user hub and the daemon partial-closes 1. The
simulator (``--timings``) stamps ``time.time_ns()`` when it hands each user-hub event to its hub
server and when each write request arrives, so the latency of a breach is

    (partial-close request received) − (the size-2 position event sent)

on one machine's wall clock: hub transport, mapping, the actor queue, the engine, the
journal write before the send, and the REST request. Breaches run one at a time, rotating over
the accounts. The trader's buys go out from a process of their own (runtime/bench_trader.py),
as a trader's platform is another program: none of the trader's HTTP work runs on the daemon's
loop while a breach is measured. The client-side REST rate limit (180/min, under the
gateway's 200/min) is lifted for the run: the simulator's limit is raised to match.

Beside each breach, one round of each floor (``Floors``: one WebSocket message and one HTTP
request between the same two processes, and the same with an fsync'd SQLite commit between
them), in the order B F F B B F …, so product and floor are measured side by side.
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from risk_manager.config.models import Config
from risk_manager.projectx.rate_limit import SlidingWindowLimiter
from risk_manager.runtime.actor import AccountActor
from risk_manager.runtime.bench_trader import TraderProcess
from risk_manager.runtime.bootstrap import bootstrap
from risk_manager.runtime.daemon import Daemon
from risk_manager.runtime.enforcement_first import EnforcementFirst
from risk_manager.runtime.metrics import resident_memory_bytes
from risk_manager.signalr import RECORD_SEPARATOR, parse_object
from risk_manager.sim.process import SimProcess, spawned_sim
from risk_manager.sim.server import DEFAULT_API_KEY, DEFAULT_USERNAME
from risk_manager.store.db import connect
from risk_manager.types import utc_now

USER, KEY = DEFAULT_USERNAME, DEFAULT_API_KEY
CONTRACT_ROOT = "MNQ"
PRICE = 20000.0
BREACH_TIMEOUT = 10.0  # seconds for one breach to be enforced and settle


@dataclass(frozen=True, slots=True)
class E2EResult:
    """A run's breach latencies and its two floors (``floor_ms``: one WebSocket message and
    one HTTP request between the same two processes; ``fsync_floor_ms``: the same with an
    fsync'd SQLite commit between them, as the journal's before each send), in ms."""

    breaches: int
    enforced: int
    latencies_ms: tuple[float, ...]
    rss_mb: float
    seconds: float  # the breaches' own time: the floor rounds between them not counted
    floor_ms: tuple[float, ...] = ()
    fsync_floor_ms: tuple[float, ...] = ()
    # For each floor round: whether it came right after a breach (it then meets what the
    # breach left running: grouped writes, bookkeeping after the send); the others followed a
    # floor round.
    floor_after_breach: tuple[bool, ...] = ()

    @property
    def p50_ms(self) -> float:
        return percentile(self.latencies_ms, 50)

    @property
    def p99_ms(self) -> float:
        return percentile(self.latencies_ms, 99)

    def summary(self) -> dict[str, Any]:
        return {
            "p50_ms": round(self.p50_ms, 3),
            "p99_ms": round(self.p99_ms, 3),
            "rss_mb": round(self.rss_mb, 1),
            "breaches": self.breaches,
            "enforced": self.enforced,
            "max_ms": round(max(self.latencies_ms, default=0.0), 3),
            "seconds": round(self.seconds, 1),
        }

    def floors(self) -> dict[str, dict[str, float]]:
        """p50 and p99 (ms) of each floor over all its rounds, and of the fsync floor over the
        rounds that followed a floor round only (``fsync_after_floor``: none of a breach's
        leftovers in it; empty figures when no round was marked)."""
        quiet = [
            ms
            for ms, after in zip(self.fsync_floor_ms, self.floor_after_breach, strict=False)
            if not after
        ]
        return {
            name: {
                "p50_ms": round(percentile(values, 50), 3),
                "p99_ms": round(percentile(values, 99), 3),
            }
            for name, values in (
                ("bare", self.floor_ms),
                ("fsync", self.fsync_floor_ms),
                ("fsync_after_floor", quiet),
            )
        }


def percentile(values: tuple[float, ...] | list[float], pct: float) -> float:
    """Nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * pct // 100))  # ceil
    return ordered[int(rank) - 1]


def rss_mb() -> float:
    """This process's resident set now, in MiB."""
    return (resident_memory_bytes() or 0) / 2**20


def sim_broker(sim: SimProcess) -> dict[str, str]:
    """The config's ``broker`` section for the bench's simulator (its URLs, the bench user)."""
    return {
        "api_url": sim.url,
        "user_hub_url": sim.user_hub_url,
        "market_hub_url": sim.market_hub_url,
        "username": USER,
        "api_key": KEY,
    }


def bench_config(sim: SimProcess, store: Path) -> Config:
    return Config.model_validate(
        {
            "broker": sim_broker(sim),
            "rules": {"max_contracts": {"enabled": True, "limit": 1}},
            "store": {"path": str(store)},
            "logging": {"level": "WARNING"},
        }
    )


class BenchTrader:
    """The trader's REST calls to the simulator (its own token and rate-limit bucket)."""

    def __init__(self, url: str, session: aiohttp.ClientSession) -> None:
        self.url = url
        self.session = session
        self.headers: dict[str, str] = {}

    async def post(self, path: str, body: dict[str, Any]) -> Any:
        async with self.session.post(self.url + path, json=body, headers=self.headers) as r:
            if r.status != 200:
                raise RuntimeError(f"{path}: HTTP {r.status}: {await r.text()}")
            return await r.json()

    async def login(self) -> None:
        reply = await self.post("/api/Auth/loginKey", {"userName": USER, "apiKey": KEY})
        self.headers = {"Authorization": f"Bearer {reply['token']}"}

    async def contract(self) -> str:
        reply = await self.post("/api/Contract/available", {"live": False})
        return str(next(c["id"] for c in reply["contracts"] if c["id"].split(".")[3] == "MNQ"))

    async def buy(self, account_id: int, contract_id: str) -> None:
        """A market buy of 1 from this process (set-up only: the measured breaches' buys come
        from ``TraderProcess``)."""
        body = {"accountId": account_id, "contractId": contract_id, "type": 2, "side": 0, "size": 1}
        reply = await self.post("/api/Order/place", body)
        if not reply.get("success"):
            raise RuntimeError(f"the trader's buy was refused: {reply}")

    async def timings(self) -> dict[str, Any]:
        async with self.session.get(self.url + "/sim/timings") as r:
            data: dict[str, Any] = await r.json()
            return data


class Journal:
    """The fsync floor's journal: one row committed per call, on a thread as the store's
    writes are, with the store's settings (WAL, ``synchronous=FULL``: store/db.py). With
    ``first`` (a daemon's), each write holds that daemon's quote fan-out and read side as an
    enforcement's journal write does (runtime/enforcement_first.py): under a daemon's load,
    the floor then meets what a breach's write meets, not the GIL contention it is spared."""

    def __init__(self, path: Path, first: EnforcementFirst | None = None) -> None:
        self._first = first
        self._conn = connect(path, busy_timeout=5.0)
        self._conn.execute("CREATE TABLE IF NOT EXISTS floor (n INTEGER, at TEXT)")

    def _write(self, n: int) -> None:
        self._conn.execute("BEGIN IMMEDIATE")
        self._conn.execute("INSERT INTO floor VALUES (?, ?)", (n, utc_now().isoformat()))
        self._conn.execute("COMMIT")

    async def write(self, n: int) -> None:
        if self._first is None:
            await asyncio.to_thread(self._write, n)
            return
        self._first.begin()
        try:
            await asyncio.to_thread(self._write, n)
        finally:
            self._first.end()

    def close(self) -> None:
        self._conn.close()


async def floor_once(
    ws: aiohttp.ClientWebSocketResponse,
    session: aiohttp.ClientSession,
    url: str,
    n: int,
    journal: Journal | None,
) -> float:
    """One floor round (sim/echo.py), in ms: a message from the simulator on its WebSocket,
    read and parsed as a hub record, with ``journal`` a row committed, then one HTTP request
    back, stamped on arrival by the simulator."""
    await ws.send_str(str(n))
    msg = await ws.receive()
    got = parse_object(str(msg.data).rstrip(RECORD_SEPARATOR))["n"]
    if journal is not None:
        await journal.write(got)
    async with session.post(f"{url}/sim/echo", json={"n": got}) as resp:
        body = await resp.json()
    return float(body["latency_ns"]) / 1e6


class Floors:
    """Both floors, a round at a time, over one echo WebSocket (sim/echo.py): ``await
    floors.round()`` runs one bare round and one fsync round, back to back so both meet the
    same machine, and appends their latencies (ms) to ``bare`` and ``fsync``. A benchmark runs
    a round beside each of its own measurements, so product and floor are measured side by
    side, not one phase after the other; ``first``: the daemon whose load they run under
    (``Journal``). An async context manager: the WebSocket and the journal are open inside."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        url: str,
        store: Path,
        first: EnforcementFirst | None = None,
    ) -> None:
        self._session = session
        self._url = url
        self._store = store
        self._first = first
        self._journal: Journal | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self.bare: list[float] = []
        self.fsync: list[float] = []
        self.after_breach: list[bool] = []

    async def __aenter__(self) -> Floors:
        self._journal = Journal(self._store, self._first)
        try:
            ws_url = f"{self._url.replace('http', 'ws', 1)}/sim/echo"
            self._ws = await self._session.ws_connect(ws_url)
        except BaseException:
            self._journal.close()
            raise
        return self

    async def __aexit__(self, *exc: object) -> None:
        ws, journal = self._ws, self._journal
        self._ws = self._journal = None  # a round after this says it is outside
        try:
            if ws is not None:
                await ws.close()
        finally:
            if journal is not None:
                journal.close()

    async def round(self, after_breach: bool = True) -> None:
        """One round of each floor; ``after_breach``: whether a breach came right before it
        (kept in ``after_breach``). Raises ``RuntimeError`` outside ``async with``, and
        ``TimeoutError`` when a round takes over ``BREACH_TIMEOUT`` (an echo lost: the bench
        stops, it does not hang)."""
        if self._ws is None or self._journal is None:
            raise RuntimeError("Floors.round() outside 'async with Floors(...)'")
        n = 2 * len(self.bare)
        try:
            async with asyncio.timeout(BREACH_TIMEOUT):
                bare = await floor_once(self._ws, self._session, self._url, n, None)
                fsync = await floor_once(self._ws, self._session, self._url, n + 1, self._journal)
        except TimeoutError:
            raise TimeoutError(
                f"a floor round took over {BREACH_TIMEOUT:g} s (the simulator's /sim/echo)"
            ) from None
        self.bare.append(bare)
        self.fsync.append(fsync)
        self.after_breach.append(after_breach)


class SentWaker:
    """The bench's daemon listener (called with an account id after each event an actor
    handled): sets ``changed`` for an account once its enforcer has sent ``wanted[account]``
    requests (the breach's close), not for the order, fill and order handled before the
    breaching position: each would wake the bench's waiter, a task step on the loop the
    breach's enforcement shares. An account not in ``actors`` always wakes it."""

    def __init__(self) -> None:
        self.changed = asyncio.Event()
        self.actors: dict[int, AccountActor] = {}
        self.wanted: dict[int, int] = {}

    def __call__(self, account_id: int) -> None:
        actor = self.actors.get(account_id)
        if actor is None or actor.enforcer.sends >= self.wanted.get(account_id, 0):
            self.changed.set()


def _size(actor: AccountActor, contract_id: str, now: Callable[[], Any]) -> int:
    view = actor.engine.view(actor.account_id, now())
    return sum(p.position.size for p in view.positions if p.position.contract_id == contract_id)


async def settled(
    daemon: Daemon, actor: AccountActor, changed: asyncio.Event, contract: str, sent: int
) -> None:
    """Until the daemon has sent ``sent`` requests for the account and sees size 1 again."""
    while not (actor.enforcer.sends >= sent and _size(actor, contract, daemon.clock) == 1):
        changed.clear()
        await changed.wait()


async def breach(
    trader: TraderProcess,
    daemon: Daemon,
    actor: AccountActor,
    changed: asyncio.Event,
    contract: str,
    sent: int,
) -> None:
    """One breach: the trader buys 1 more of ``contract`` on the account, and this waits until
    the daemon has sent ``sent`` requests for it and sees size 1 again; then the buy's outcome
    is read (after the measured part). Raises ``RuntimeError`` with the trader's reason when
    its buy failed, ``TimeoutError`` when the daemon did not settle in ``BREACH_TIMEOUT``."""
    trader.buy(actor.account_id, contract)
    try:
        await asyncio.wait_for(settled(daemon, actor, changed, contract, sent), BREACH_TIMEOUT)
    except TimeoutError:
        await trader.result()  # the buy's own failure, when that is why
        raise
    await trader.result()


async def run_e2e(breaches: int = 1000, accounts: int = 10) -> E2EResult:
    if breaches < 1 or accounts < 1:
        raise ValueError("breaches and accounts must be >= 1")
    logger = logging.getLogger("risk_manager")
    level = logger.level
    logger.setLevel(logging.ERROR)  # the daemon's alerts (no quotes: stale marks) are noise here
    try:
        return await _run(breaches, accounts)
    finally:
        logger.setLevel(level)


async def _run(breaches: int, accounts: int) -> E2EResult:
    names = [f"BENCH-{i:02d}=50000" for i in range(accounts)]
    extra = ["--timings", "--rate-limit", "1000000/60"]
    waker = SentWaker()
    changed = waker.changed
    with tempfile.TemporaryDirectory(prefix="rm-bench-e2e-") as tmp:
        async with (
            spawned_sim(names, extra=extra) as sim,
            aiohttp.ClientSession() as session,
            bootstrap(
                bench_config(sim, Path(tmp) / "bench.sqlite"),
                listeners=[waker],
            ) as daemon,
            TraderProcess.started(sim.url) as buyer,
        ):
            limiter = daemon.session.client.limiter
            limiter.general = SlidingWindowLimiter(10**9, 60.0)
            trader = BenchTrader(sim.url, session)
            await trader.login()
            contract = await trader.contract()
            await trader.post("/sim/price", {"contractId": contract, "price": PRICE})
            actors = sorted(daemon.actors.values(), key=lambda a: a.account_id)
            waker.actors.update((a.account_id, a) for a in actors)
            for actor in actors:  # one contract each: at the limit, not over it
                await breach(buyer, daemon, actor, changed, contract, 0)
            await trader.post("/sim/timings/clear", {})
            # A round of each floor beside each breach: side by side, so a machine whose disk
            # or cores drift in the run moves both alike (the ratio is the figure). In the
            # order B F F B B F ...: half the breaches and half the floor rounds follow one of
            # their own kind and half the other, so neither alone meets what the other leaves
            # behind (a breach's bookkeeping after its send, the floor's commit).
            seconds = 0.0
            async with Floors(session, sim.url, Path(tmp) / "floor.sqlite") as floors:
                for n in range(breaches):
                    if n % 2:
                        await floors.round(after_breach=False)
                    actor = actors[n % len(actors)]
                    sent = actor.enforcer.sends + 1
                    waker.wanted[actor.account_id] = sent
                    started = time.perf_counter()
                    await breach(buyer, daemon, actor, changed, contract, sent)
                    seconds += time.perf_counter() - started
                    if not n % 2:
                        await floors.round(after_breach=True)
            rss = rss_mb()
            timings = await trader.timings()
            bare, fsync, after = floors.bare, floors.fsync, floors.after_breach
    latencies = latencies_ms(timings)
    return E2EResult(
        breaches,
        len(latencies),
        tuple(latencies),
        rss,
        seconds,
        tuple(bare),
        tuple(fsync),
        tuple(after),
    )


def latencies_ms(timings: dict[str, Any]) -> list[float]:
    """For each partial close, the time since the last size-2 position event of its account."""
    last_breach: dict[int, int] = {}
    out: list[float] = []
    marks = [
        (e["t_ns"], 0, e["accountId"], e)
        for e in timings["events"]
        if e["target"] == "GatewayUserPosition" and e["size"] == 2
    ] + [
        (r["t_ns"], 1, r["accountId"], r)
        for r in timings["requests"]
        if r["path"] == "Position/partialCloseContract"
    ]
    for t_ns, kind, account_id, _ in sorted(marks, key=lambda m: (m[0], m[1])):
        if kind == 0:
            last_breach[account_id] = t_ns
        elif account_id in last_breach:
            out.append((t_ns - last_breach.pop(account_id)) / 1e6)
    return out
