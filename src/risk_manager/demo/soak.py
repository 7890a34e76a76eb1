"""``make soak``: the demo's traffic against one daemon for a long time, sampled each minute.

The simulator and the daemon run as the demo runs them (child processes, the demo config, a
fresh SQLite file). The scripted trader plays the demo's five breaches again and again; after
each round the admin API resets the account's day and clears its locks (docs/ADMIN.md), so the
next round meets the same rules, and the market is set back to where it started. Every
``interval`` seconds one row goes to ``soak.csv``:

- ``rss_mb``, ``fds``: the daemon process's resident set (MiB) and open file descriptors
  (psutil; on Windows, handles);
- ``db_mb``: the store's SQLite file with its ``-wal`` and ``-shm`` (MiB);
- ``loop_lag_ms``: the daemon's worst event-loop lag of the last minute
  (``risk_manager_event_loop_lag_seconds``, runtime/loop_lag.py);
- ``actions``, ``latency_mean_ms``, ``latency_p99_ms``: the actions the daemon took since the
  last row and their event-to-action latency from its histogram
  (``risk_manager_event_to_action_seconds``: the mean is exact, the p99 is the upper bound of
  the bucket holding it);
- ``rounds``, ``failed_rounds``: the trader's rounds so far and those with a breach the guard
  did not enforce.

At the end, the slope of ``rss_mb`` over the rows after ``warmup`` (least squares, MiB per
hour) is printed; the run fails (exit 1) when it exceeds ``max_growth`` or a round was not
enforced, and ``soak.png`` plots every column against time (matplotlib, a dev dependency).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import math
import secrets
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, fields
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import psutil
from prometheus_client.parser import text_string_to_metric_families

from risk_manager.admin.password import PasswordFile
from risk_manager.config.durations import parse_duration
from risk_manager.demo.config import SIM_API_KEY, SIM_USERNAME, write_demo_config
from risk_manager.demo.guard import GuardWatcher
from risk_manager.demo.processes import Child, free_port, pick_port, wait_ready
from risk_manager.demo.run import demo_account, demo_children
from risk_manager.demo.trader import DemoTrader
from risk_manager.domain.errors import RiskManagerError
from risk_manager.projectx.client import ProjectXClient
from risk_manager.stop_signals import stop_on_signals

START_PRICE = Decimal(21000)  # MNQ at the start of each round (the loss step drops it)
ADMIN_RELOGIN = 600.0  # seconds: a new admin token well before the 15-minute one expires
LATENCY = "risk_manager_event_to_action_seconds"
LOOP_LAG = "risk_manager_event_loop_lag_seconds"

Say = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class SoakOptions:
    """One soak run: ``duration``, ``interval`` and ``warmup`` in seconds; ``max_growth`` in
    MiB per hour of the daemon's RSS after the warm-up; ``speed`` as the demo's."""

    out: Path
    duration: float = 3600.0
    interval: float = 60.0
    warmup: float = 600.0
    max_growth: float = 2.0
    speed: float = 4.0
    seed: int = 0


@dataclass(frozen=True, slots=True)
class Sample:
    """One row of ``soak.csv`` (the module docstring says what each column is)."""

    minute: float
    rss_mb: float
    fds: int
    db_mb: float
    loop_lag_ms: float
    actions: int
    latency_mean_ms: float
    latency_p99_ms: float
    rounds: int
    failed_rounds: int


@dataclass(slots=True)
class Histogram:
    """A Prometheus histogram read once: cumulative counts by upper bound, the sum."""

    buckets: list[tuple[float, float]]  # (le, cumulative count), ascending, +Inf last
    total: float = 0.0

    @property
    def count(self) -> float:
        return self.buckets[-1][1] if self.buckets else 0.0

    def since(self, before: Histogram) -> Histogram:
        """The observations made after ``before`` was read (same buckets)."""
        old = dict(before.buckets)
        return Histogram(
            [(le, n - old.get(le, 0.0)) for le, n in self.buckets], self.total - before.total
        )

    def quantile_bound(self, q: float) -> float:
        """The upper bound of the bucket holding quantile ``q`` (0 without observations)."""
        if self.count <= 0:
            return 0.0
        rank = q * self.count
        return next(le for le, n in self.buckets if n >= rank)


def read_metrics(text: str) -> tuple[Histogram, float]:
    """The latency histogram and the loop lag (seconds) from ``/metrics`` text."""
    hist, lag = Histogram([]), math.nan
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == f"{LATENCY}_bucket":
                hist.buckets.append((float(sample.labels["le"]), sample.value))
            elif sample.name == f"{LATENCY}_sum":
                hist.total = sample.value
            elif sample.name == LOOP_LAG:
                lag = sample.value
    hist.buckets.sort()
    return hist, lag


def db_megabytes(db_path: Path) -> float:
    """The SQLite store with its write-ahead log and shared-memory file, in MiB."""
    files = (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm"))
    return sum(p.stat().st_size for p in files if p.exists()) / 2**20


def open_files(process: psutil.Process) -> int:
    """Open file descriptors (handles on Windows)."""
    if sys.platform == "win32":
        return int(process.num_handles())
    return int(process.num_fds())


def growth_per_hour(samples: Iterable[Sample], warmup_minutes: float) -> float | None:
    """Least-squares slope of ``rss_mb`` (MiB per hour) over the samples after the warm-up;
    None with fewer than three of them."""
    after = [s for s in samples if s.minute >= warmup_minutes]
    if len(after) < 3:
        return None
    slope, _ = statistics.linear_regression([s.minute for s in after], [s.rss_mb for s in after])
    return slope * 60.0


class AdminApi:
    """The daemon's admin API as the soak uses it: reset the account's day, clear its locks."""

    def __init__(self, session: aiohttp.ClientSession, api_url: str, password: str) -> None:
        self._session = session
        self._url = f"{api_url}/api/v1/admin"
        self._password = password
        self._token = ""
        self._token_at = -math.inf

    async def _post(self, path: str, body: dict[str, Any]) -> Any:
        headers = {"Authorization": f"Bearer {self._token}"} if self._token else {}
        async with self._session.post(f"{self._url}/{path}", json=body, headers=headers) as r:
            if r.status != 200:
                raise RuntimeError(f"admin {path}: HTTP {r.status}: {await r.text()}")
            return await r.json()

    async def _login(self) -> None:
        if time.monotonic() - self._token_at < ADMIN_RELOGIN:
            return
        self._token = ""
        reply = await self._post("login", {"password": self._password})
        self._token, self._token_at = str(reply["token"]), time.monotonic()

    async def fresh_day(self, account_id: int) -> None:
        """The account's daily reset, then every lock of it cleared."""
        await self._login()
        reason = "soak: next round"
        await self._post("reset", {"account": account_id, "reason": reason})
        await self._post("locks/clear", {"account": account_id, "reason": reason})


class Rounds:
    """The trader's rounds: counted, with those where a breach went unenforced."""

    def __init__(self) -> None:
        self.done = 0
        self.failed = 0
        self.aborted = 0  # rounds the script itself could not finish (not the guard's doing)
        self.last_abort = ""
        self.error: str | None = None


async def _trade(
    client: ProjectXClient,
    session: aiohttp.ClientSession,
    sim_url: str,
    api_url: str,
    admin: AdminApi,
    options: SoakOptions,
    rounds: Rounds,
) -> None:
    """Round after round until cancelled; between rounds a fresh day and a flat account."""
    account_id = await demo_account(client)
    quiet: Say = lambda _text: None  # noqa: E731 - the demo's narration is not the soak's
    while True:
        watcher = GuardWatcher(session, api_url, account_id, quiet)
        trader = DemoTrader(client, session, sim_url, watcher, options.speed, quiet)
        try:
            await trader.set_price("MNQ", START_PRICE)
            results = await trader.run()
        except (aiohttp.ClientError, RuntimeError, RiskManagerError) as exc:
            # The script's own race with the guard (a position closed before the trader read
            # it): the round proves nothing either way; counted, and the next one starts.
            rounds.aborted += 1
            rounds.last_abort = str(exc)
        else:
            rounds.done += 1
            if not all(r.enforced for r in results):
                rounds.failed += 1
        await admin.fresh_day(account_id)
        for position in await client.search_open_positions(account_id):
            await client.close_position(account_id, position.contract_id)
        for order in await client.search_open_orders(account_id):
            await client.cancel_order(account_id, order.id)


async def _sampler(
    session: aiohttp.ClientSession,
    api_url: str,
    daemon: psutil.Process,
    db_path: Path,
    rounds: Rounds,
    options: SoakOptions,
    started: float,
    write: Callable[[Sample], None],
) -> None:
    previous: Histogram | None = None
    while True:
        async with session.get(f"{api_url}/metrics") as resp:
            hist, lag = read_metrics(await resp.text())
        if previous is not None:
            new = hist.since(previous)
            mean = new.total / new.count * 1000 if new.count else 0.0
            write(
                Sample(
                    minute=round((time.monotonic() - started) / 60.0, 3),
                    rss_mb=round(daemon.memory_info().rss / 2**20, 2),
                    fds=open_files(daemon),
                    db_mb=round(db_megabytes(db_path), 3),
                    loop_lag_ms=round(lag * 1000, 2),
                    actions=int(new.count),
                    latency_mean_ms=round(mean, 3),
                    latency_p99_ms=round(new.quantile_bound(0.99) * 1000, 3),
                    rounds=rounds.done,
                    failed_rounds=rounds.failed,
                )
            )
        previous = hist
        await asyncio.sleep(options.interval)


async def run_soak(options: SoakOptions, say: Say) -> int:
    """The whole soak (the module docstring); the exit code (0: no growth, all enforced)."""
    stop = asyncio.Event()
    with stop_on_signals(stop):
        return await _run_soak(options, stop, say)


async def _run_soak(options: SoakOptions, stop: asyncio.Event, say: Say) -> int:
    out = options.out
    data = out / "data"
    data.mkdir(parents=True, exist_ok=True)
    sim_port = free_port()
    api_port = pick_port(free_port(), {sim_port})
    sim_url, api_url = f"http://127.0.0.1:{sim_port}", f"http://127.0.0.1:{api_port}"
    db_path, config_path = data / "soak.sqlite", data / "soak-config.yaml"
    write_demo_config(config_path, sim_url, api_port, db_path, options.speed)
    password = secrets.token_urlsafe(16)
    PasswordFile(data / "admin.pwd").set(password)  # the default beside the config
    sim, daemon = demo_children(data, sim_port, config_path, options.seed)
    samples: list[Sample] = []
    rounds = Rounds()
    csv_path = out / "soak.csv"
    try:
        async with aiohttp.ClientSession() as session:
            await sim.start()
            await wait_ready(sim, session, f"{sim_url}/sim/state")
            await daemon.start()
            await wait_ready(daemon, session, f"{api_url}/health")
            assert daemon.process is not None
            proc = psutil.Process(daemon.process.pid)
            say(f"soak: {options.duration / 60:g} min, data in {data}, rows to {csv_path}")
            with csv_path.open("w", newline="", encoding="utf-8") as handle:
                writer = csv.DictWriter(handle, [f.name for f in fields(Sample)])
                writer.writeheader()

                def write(sample: Sample) -> None:
                    samples.append(sample)
                    writer.writerow(asdict(sample))
                    handle.flush()
                    say(_row_text(sample))

                async with ProjectXClient(sim_url, SIM_USERNAME, SIM_API_KEY) as client:
                    admin = AdminApi(session, api_url, password)
                    started = time.monotonic()
                    trade = _trade(client, session, sim_url, api_url, admin, options, rounds)
                    sample = _sampler(
                        session, api_url, proc, db_path, rounds, options, started, write
                    )
                    await _watch(trade, sample, stop, options.duration, (sim, daemon), rounds)
    finally:
        for child in (daemon, sim):
            if child.running:
                await child.stop()
    return _verdict(samples, rounds, options, out, say)


async def _watch(
    trade: Any,
    sample: Any,
    stop: asyncio.Event,
    duration: float,
    children: tuple[Child, ...],
    rounds: Rounds,
) -> None:
    """Run the trader and the sampler for ``duration`` s, or until Ctrl+C, a child's death or
    an error of the trader's (kept in ``rounds.error``)."""
    tasks = [asyncio.create_task(trade), asyncio.create_task(sample)]
    deadline = time.monotonic() + duration
    try:
        while time.monotonic() < deadline and not stop.is_set():
            dead = [c.name for c in children if not c.running]
            if dead:
                rounds.error = f"the {dead[0]} exited during the soak"
                return
            failed = [t for t in tasks if t.done()]
            if failed:
                rounds.error = f"{failed[0].exception()!r}"
                return
            await asyncio.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _row_text(s: Sample) -> str:
    return (
        f"{s.minute:7.1f} min  rss {s.rss_mb:6.1f} MiB  fds {s.fds:3d}  db {s.db_mb:6.2f} MiB  "
        f"lag {s.loop_lag_ms:6.1f} ms  actions {s.actions:4d}  mean {s.latency_mean_ms:6.2f} ms  "
        f"p99 ≤ {s.latency_p99_ms:6.1f} ms  rounds {s.rounds} ({s.failed_rounds} failed)"
    )


def _verdict(
    samples: list[Sample], rounds: Rounds, options: SoakOptions, out: Path, say: Say
) -> int:
    ok = True
    if rounds.error is not None:
        say(f"FAIL: the soak stopped early: {rounds.error}")
        ok = False
    if rounds.failed:
        say(f"FAIL: {rounds.failed} of {rounds.done} rounds had a breach the guard missed")
        ok = False
    if rounds.aborted:
        say(f"note: {rounds.aborted} rounds stopped on the script's side ({rounds.last_abort})")
    if rounds.aborted > rounds.done:
        say("FAIL: most rounds did not finish: the traffic did not run")
        ok = False
    warmup_min = options.warmup / 60.0
    slope = growth_per_hour(samples, warmup_min)
    if slope is None:
        say(f"FAIL: fewer than 3 samples after the {warmup_min:g} min warm-up: no slope")
        ok = False
    else:
        verdict = "ok" if slope <= options.max_growth else "FAIL"
        say(
            f"{verdict}: RSS after the {warmup_min:g} min warm-up grows {slope:+.2f} MiB/h "
            f"(bound {options.max_growth:g} MiB/h)"
        )
        ok = ok and slope <= options.max_growth
    if samples:
        plot(samples, out / "soak.png", warmup_min, slope)
        say(f"rounds: {rounds.done} ({rounds.failed} with a breach missed); plot: {out}/soak.png")
    return 0 if ok else 1


def plot(samples: list[Sample], path: Path, warmup_min: float, slope: float | None) -> None:
    """Every column of ``samples`` against time, one panel each, into ``path`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")  # no display: write the file only
    import matplotlib.pyplot as plt

    panels = (
        ("rss_mb", "RSS (MiB)"),
        ("fds", "open fds"),
        ("db_mb", "SQLite + WAL (MiB)"),
        ("loop_lag_ms", "worst loop lag (ms)"),
        ("latency_mean_ms", "event→action mean (ms)"),
        ("latency_p99_ms", "event→action p99 bound (ms)"),
    )
    minutes = [s.minute for s in samples]
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 12), sharex=True)
    for ax, (column, label) in zip(axes, panels, strict=True):
        ax.plot(minutes, [getattr(s, column) for s in samples], marker=".", linewidth=1)
        ax.set_ylabel(label, fontsize=8)
        ax.axvline(warmup_min, color="grey", linestyle=":", linewidth=1)
        ax.grid(alpha=0.3)
    growth = "n/a" if slope is None else f"{slope:+.2f} MiB/h after warm-up"
    axes[0].set_title(f"risk-manager soak: {minutes[-1]:.0f} min, RSS {growth}", fontsize=10)
    axes[-1].set_xlabel("minutes")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    """``python -m risk_manager.demo.soak --duration 60m --out DIR``."""
    parser = argparse.ArgumentParser(prog="soak", description=__doc__.split("\n")[0])
    parser.add_argument("--duration", default="60m", help="e.g. 3m, 60m, 2h (default 60m)")
    parser.add_argument(
        "--interval", default=None, help="between samples (default 60s; a 20th of a shorter run)"
    )
    parser.add_argument(
        "--warmup", default=None, help="not counted in the slope (default: 10m, or a third)"
    )
    parser.add_argument("--max-growth", type=float, default=2.0, help="MiB/h (default 2)")
    parser.add_argument("--speed", type=float, default=4.0, help="the demo's speed (default 4)")
    parser.add_argument("--out", type=Path, required=True, help="folder for the CSV and PNG")
    args = parser.parse_args(argv)
    duration = parse_duration(args.duration).total_seconds()
    warmup = (
        parse_duration(args.warmup).total_seconds()
        if args.warmup is not None
        else min(600.0, duration / 3)
    )
    options = SoakOptions(
        out=args.out,
        duration=duration,
        interval=(
            parse_duration(args.interval).total_seconds()
            if args.interval is not None
            else min(60.0, duration / 20)
        ),
        warmup=warmup,
        max_growth=args.max_growth,
        speed=args.speed,
    )
    try:
        return asyncio.run(run_soak(options, lambda text: print(text, flush=True)))
    except RuntimeError as exc:  # a child that did not start: its log's end is in the message
        print(f"soak failed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
