"""``risk-manager bench``: performance figures, each beside a floor measured in the same run
(cli/bench_report.py; docs/PERFORMANCE.md). ``bench engine`` measures the rule engine alone and
the receive path; ``bench e2e``: breach to enforcement; ``bench accounts``: capacity;
``bench sim``: the simulator's market hub; ``bench start``: time to guard at start-up.

The engine workload: one account, 3 open positions (NQ, ES, CL) each protected by our stop and
target, every rule enabled with limits that are not reached, and a stream that is 90% quotes
(a random walk per contract) and 10% user-hub events (account updates, trader orders placed and
cancelled, opening/closing fills, position resizes). Events are built before timing; each
``process`` call is timed with ``perf_counter_ns`` on one thread. ``events_per_s`` is the
median rate over 1,000-event stretches (a stretch where the OS ran other work is an outlier);
the whole run's wall-clock rate is printed too.

The locked refusal (``run_refusal_bench``): a flat account under a hard lock (every rule on),
each timed event a trader's new working limit order the engine answers with its cancel
(RULES.md §2); the broker's cancellation of it is applied untimed between two.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Generic, TypeVar

import typer

from risk_manager.calendar import HolidayCalendar, TradingCalendar
from risk_manager.cli.bench_report import BenchReport, command_line, emit, ratios
from risk_manager.config.rules import RULE_MODELS, RulesConfig
from risk_manager.domain.actions import CancelOrder
from risk_manager.domain.contracts import DEFAULT_CATALOG
from risk_manager.domain.enums import OrderSide, OrderStatus, OrderType, PositionType
from risk_manager.domain.events import (
    AccountEvent,
    Event,
    OrderEvent,
    PositionEvent,
    QuoteEvent,
    TradeEvent,
)
from risk_manager.domain.locks import Lock, LockKind
from risk_manager.domain.models import Account, Order, Position, Quote, Trade
from risk_manager.engine.engine import Engine
from risk_manager.projectx.mapping import market_events
from risk_manager.signalr import parse_object

bench_app = typer.Typer(help="Measure performance.", no_args_is_help=True)

T = TypeVar("T")

ACCOUNT = 1
CHUNK = 1_000
# Tuesday 2026-03-10 09:00 CT: inside the session, hours from its end and from the reset.
START = datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
CONTRACTS = {
    "CON.F.US.ENQ.H26": Decimal("25000.00"),
    "CON.F.US.EP.H26": Decimal("6000.00"),
    "CON.F.US.CLE.J26": Decimal("70.00"),
}

ALL_RULES: dict[str, Any] = {model.key: model.bench for model in RULE_MODELS}
"""Every rule on, with settings that exercise it without breaching (the config classes')."""


def _setup(engine: Engine) -> None:
    """Account, three positions, our stop and target on each (not timed)."""
    now = START
    # our orders are those our engine recorded (RULES.md §1): as if it had placed them
    tags = [f"rm-{'sl' if n % 2 else 'tp'}-{ACCOUNT}-{n}" for n in range(1, 2 * len(CONTRACTS) + 1)]
    engine.restore_memory(ACCOUNT, {"_engine": {"our_tags": tags, "tags_placed": len(tags)}})
    engine.process(AccountEvent(now, Account(ACCOUNT, "BENCH", Decimal(50_000), True)), now)
    oid = 1
    for i, (cid, price) in enumerate(CONTRACTS.items()):
        spec = DEFAULT_CATALOG.by_contract_id(cid)
        engine.process(QuoteEvent(now, Quote(cid, price, price, price)), now)
        pos = Position(100 + i, ACCOUNT, cid, PositionType.LONG, 2, price, now)
        engine.process(PositionEvent(now, pos), now)
        for kind, px in (
            (OrderType.STOP, price - 400 * spec.tick_size),
            (OrderType.LIMIT, price + 400 * spec.tick_size),
        ):
            tag = f"rm-{'sl' if kind is OrderType.STOP else 'tp'}-{ACCOUNT}-{oid}"
            order = Order(
                oid,
                ACCOUNT,
                cid,
                OrderStatus.OPEN,
                kind,
                OrderSide.ASK,
                2,
                now,
                now,
                limit_price=px if kind is OrderType.LIMIT else None,
                stop_price=px if kind is OrderType.STOP else None,
                custom_tag=tag,
            )
            engine.process(OrderEvent(now, order), now)
            oid += 1


def workload(n: int, seed: int = 1) -> list[Event]:
    rng = random.Random(seed)
    prices = dict(CONTRACTS)
    ids = list(CONTRACTS)
    events: list[Event] = []
    now = START + timedelta(seconds=1)
    trade_id = 10_000
    order_id = 20_000
    balance = Decimal(50_000)
    for i in range(n):
        now += timedelta(microseconds=500)
        cid = ids[i % 3]
        spec = DEFAULT_CATALOG.by_contract_id(cid)
        if rng.random() < 0.9:
            prices[cid] += spec.tick_size * rng.choice((-1, 0, 1))
            p = prices[cid]
            events.append(QuoteEvent(now, Quote(cid, p, p - spec.tick_size, p)))
            continue
        kind = rng.randrange(4)
        if kind == 0:
            balance += Decimal("0.25") * rng.choice((-1, 1))
            events.append(AccountEvent(now, Account(ACCOUNT, "BENCH", balance, True)))
        elif kind == 1:
            # a trader's limit order placed or cancelled; a few ids recur
            order_id = 20_000 + rng.randrange(4)
            status = OrderStatus.OPEN if rng.random() < 0.5 else OrderStatus.CANCELLED
            events.append(
                OrderEvent(
                    now,
                    Order(
                        order_id,
                        ACCOUNT,
                        cid,
                        status,
                        OrderType.LIMIT,
                        OrderSide.BID,
                        1,
                        now,
                        now,
                        limit_price=prices[cid] - 100 * spec.tick_size,
                    ),
                )
            )
        elif kind == 2:
            trade_id += 1
            pnl = None if trade_id % 2 else Decimal(rng.randrange(-50, 50))
            events.append(
                TradeEvent(
                    now,
                    Trade(
                        trade_id,
                        ACCOUNT,
                        cid,
                        now,
                        prices[cid],
                        OrderSide.BID,
                        1,
                        order_id,
                        Decimal("1.40"),
                        Decimal("0.50"),
                        pnl,
                    ),
                )
            )
        else:
            events.append(
                PositionEvent(
                    now,
                    Position(
                        100 + ids.index(cid),
                        ACCOUNT,
                        cid,
                        PositionType.LONG,
                        2,
                        CONTRACTS[cid],
                        now,
                    ),
                )
            )
    return events


def wire_quotes(n: int, seed: int = 1) -> list[str]:
    """``n`` hub records as the gateway sends them: a ``GatewayQuote`` invocation (§7.4,
    every documented field, the 7-digit fraction of .NET's timestamps), prices walking."""
    rng = random.Random(seed)
    price = 25000.0
    records: list[str] = []
    for i in range(n):
        price += 0.25 * rng.choice((-1, 0, 1))
        stamp = f"2026-03-10T14:00:{i % 60:02d}.{rng.randrange(10**7):07d}+00:00"
        quote = {
            "symbol": "F.US.ENQ",
            "symbolName": "/NQ",
            "lastPrice": price,
            "bestBid": price - 0.25,
            "bestAsk": price,
            "change": 12.5,
            "changePercent": 0.05,
            "open": 24990.0,
            "high": 25010.0,
            "low": 24985.5,
            "volume": 100_000 + i,
            "lastUpdated": stamp,
            "timestamp": stamp,
        }
        record = {"type": 1, "target": "GatewayQuote", "arguments": ["CON.F.US.ENQ.H26", quote]}
        records.append(json.dumps(record))
    return records


@dataclass(frozen=True, slots=True)
class _Received:
    """The floor's small object: what a bare client keeps of a quote."""

    contract_id: str
    last: float
    bid: float
    ask: float


def bare_receive(text: str) -> _Received:
    """The floor: ``json.loads`` and a small object, no checks, no Decimal, no time."""
    record = json.loads(text)
    contract_id, data = record["arguments"]
    return _Received(contract_id, data["lastPrice"], data["bestBid"], data["bestAsk"])


def our_receive(text: str) -> list[Event]:
    """The daemon's receive path for one record: the hub's decoding (numbers with a fraction
    as Decimal) and the market mapping to domain events (what ``HubConnection`` and the
    session do before the actor's queue)."""
    record = parse_object(text, parse_float=Decimal)
    return market_events(record["target"], record["arguments"], START)


@dataclass
class Timed(Generic[T]):
    """One timed run for ``timed_side_by_side``: ``call(item)`` for each of ``items``, the
    first ``warm`` untimed; ``after(item, result)``, when given, runs untimed after each."""

    call: Callable[[T], object]
    items: list[T]
    warm: int
    after: Callable[[T, object], object] | None = None
    lat: list[int] = field(default_factory=list)  # ns per timed call
    rates: list[float] = field(default_factory=list)  # calls/s of each CHUNK-call stretch
    elapsed: int = 0  # ns from the first timed call to the last, summed over stretches

    def run_stretch(self, start: int, clock: Callable[[], int]) -> None:
        """Time ``items[start : start + CHUNK]`` (those past ``warm``)."""
        call, after, lat = self.call, self.after, self.lat
        began = clock()
        for item in self.items[start : start + CHUNK]:
            s = clock()
            result = call(item)
            e = clock()
            lat.append(e - s)
            if after is not None:
                after(item, result)
        ended = clock()
        done = min(CHUNK, len(self.items) - start)
        self.elapsed += ended - began
        if done == CHUNK:
            self.rates.append(CHUNK / ((ended - began) / 1e9))

    def figures(self) -> dict[str, float]:
        lat = sorted(self.lat)
        rates = sorted(self.rates)
        count = len(lat)
        return {
            "events": count,
            "events_per_s": round(rates[len(rates) // 2]) if rates else 0,
            "wall_events_per_s": round(count / (self.elapsed / 1e9)) if self.elapsed else 0,
            "mean_us": round(sum(lat) / count / 1000, 2) if count else 0.0,
            "p50_us": round(lat[count // 2] / 1000, 2) if count else 0.0,
            "p99_us": round(lat[int(count * 0.99)] / 1000, 2) if count else 0.0,
        }


def timed_side_by_side(runs: Sequence[Timed[Any]]) -> list[dict[str, float]]:
    """The ``runs`` timed with ``perf_counter_ns``, side by side: each warmed up, then a
    ``CHUNK``-call stretch of each in turn until all are done, so all of them meet the same
    machine (a noisy neighbour, a clock change) in the same seconds, and a ratio of two holds
    on a noisy machine. Per run, in order: ``events_per_s`` (the median over its stretches:
    one in which the OS ran other work is an outlier), ``wall_events_per_s``, ``mean_us``,
    ``p50_us`` and ``p99_us`` per call; the untimed ``after`` is in the rates only."""
    for run in runs:
        for item in run.items[: run.warm]:
            result = run.call(item)
            if run.after is not None:
                run.after(item, result)
    clock = time.perf_counter_ns
    longest = max((len(run.items) for run in runs), default=0)
    for start in range(0, longest, CHUNK):
        for run in runs:
            if start + run.warm < len(run.items):
                run.run_stretch(start + run.warm, clock)
    return [run.figures() for run in runs]


def timed(
    call: Callable[[T], object],
    items: list[T],
    warm: int,
    after: Callable[[T, object], object] | None = None,
) -> dict[str, float]:
    """Each ``call(item)`` timed with ``perf_counter_ns`` after ``warm`` untimed ones (one
    run of ``timed_side_by_side``; its figures)."""
    return timed_side_by_side([Timed(call, items, warm, after)])[0]


def workload_engine() -> Engine:
    """An engine with every rule on, set up for the workload (``_setup``): the engine
    bench's setup (``run_engine_bench``, tools/perf/)."""
    config = RulesConfig.model_validate(ALL_RULES)
    calendar = TradingCalendar(holidays=HolidayCalendar.load("equity"))
    engine = Engine(config, calendar, DEFAULT_CATALOG)
    _setup(engine)
    return engine


def run_engine_bench(n: int = 200_000) -> dict[str, float]:
    """The engine over the workload (the module docstring): ``timed``'s figures."""
    return timed_side_by_side([_engine_run(n)])[0]


def _engine_run(n: int) -> Timed[Event]:
    process = workload_engine().process
    return Timed(lambda ev: process(ev, ev.at), workload(n), min(5_000, n // 10))


REFUSALS = 50_000  # orders refused on the locked account at most (--events caps it)
LOCKED = 2  # the account of the locked refusal, flat, under a hard lock until cleared


def refusal_workload(n: int) -> list[tuple[OrderEvent, OrderEvent]]:
    """``n`` pairs: a trader's new working limit order on the locked account, and the
    broker's word that it was cancelled (which keeps the book as it was for the next)."""
    cid = "CON.F.US.ENQ.H26"
    pairs: list[tuple[OrderEvent, OrderEvent]] = []
    now = START + timedelta(seconds=1)
    for i in range(n):
        now += timedelta(microseconds=500)
        placed = Order(
            30_000 + i,
            LOCKED,
            cid,
            OrderStatus.OPEN,
            OrderType.LIMIT,
            OrderSide.BID,
            1,
            now,
            now,
            limit_price=Decimal("24000.00"),
        )
        gone = replace(placed, status=OrderStatus.CANCELLED)
        pairs.append((OrderEvent(now, placed), OrderEvent(now, gone)))
    return pairs


def locked_engine() -> Engine:
    """An engine with every rule on and account ``LOCKED`` flat under a hard lock until
    cleared: the locked refusal's setup (``run_refusal_bench``, tools/perf/)."""
    config = RulesConfig.model_validate(ALL_RULES)
    calendar = TradingCalendar(holidays=HolidayCalendar.load("equity"))
    engine = Engine(config, calendar, DEFAULT_CATALOG)
    engine.process(AccountEvent(START, Account(LOCKED, "LOCKED", Decimal(50_000), True)), START)
    lock = Lock(LOCKED, "daily_realized_loss", LockKind.HARD, "bench", START, None)
    engine.restore_locks([lock], START)
    return engine


def run_refusal_bench(n: int = 50_000) -> dict[str, float]:
    """Refusing an order on a locked account (RULES.md §2: a locked account's new orders are
    cancelled): the engine receives a trader's new working order (``OrderEvent``) on a flat
    account under an active hard lock, every rule on, and proposes its cancel. Each such
    ``process`` call is timed (``timed``'s figures); the broker's cancellation that follows
    is applied untimed. Raises ``RuntimeError`` if an order was not refused."""
    engine = locked_engine()
    refused = 0

    def settle(pair: tuple[OrderEvent, OrderEvent], out: object) -> None:
        """Untimed: count the refusal, then the broker cancels the order."""
        nonlocal refused
        placed, gone = pair
        order_id = placed.order.id
        assert isinstance(out, list)
        refused += any(isinstance(a, CancelOrder) and a.order_id == order_id for a in out)
        engine.process(gone, gone.at)

    items = refusal_workload(n)
    warm = min(5_000, n // 10)
    process = engine.process
    figures = timed(lambda pair: process(pair[0], pair[0].at), items, warm, after=settle)
    if refused != n:
        raise RuntimeError(f"only {refused} of {n} orders on the locked account were refused")
    return figures


def run_side_by_side(n: int) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    """The engine over its workload, the daemon's receive path and the bare floor over the
    same ``n`` quote records, in ``CHUNK``-call stretches of each in turn, so all three see
    the same machine (``timed_side_by_side``): (engine, receive path, floor)."""
    records = wire_quotes(n)
    warm = min(5_000, n // 10)
    engine, receive, floor = timed_side_by_side(
        [_engine_run(n), Timed(our_receive, records, warm), Timed(bare_receive, records, warm)]
    )
    return engine, receive, floor


ENGINE_FLOOR = "json.loads of a GatewayQuote record and a 4-field object, per event"


@bench_app.command("engine")
def bench_engine(
    events: int = typer.Option(200_000, "--events", help="Events to time."),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
) -> None:
    """Rule engine throughput and per-event latency on one core (target ≥ 100k/s, p99 ≤ 50 µs),
    the receive path (decoding and mapping) beside it, both as ratios to the floor: merely
    receiving an event in Python (``json.loads`` and a small object); and the engine refusing
    a trader's new order on a locked account (``locked_refusal_*``, at most 50,000 orders)."""
    engine, receive, floor = run_side_by_side(events)
    refusal = run_refusal_bench(min(events, REFUSALS))
    keys = ("mean_us", "p50_us", "p99_us")
    report = BenchReport(
        bench="engine",
        command=command_line("engine", f"--events {events}", "--json" if as_json else ""),
        figures={k: engine[k] for k in keys},
        floor={k: floor[k] for k in keys},
        floor_what=ENGINE_FLOOR,
        extra={
            "events_per_s": engine["events_per_s"],
            "wall_events_per_s": engine["wall_events_per_s"],
            "events": engine["events"],
            "receive_mean_us": receive["mean_us"],
            "receive_p50_us": receive["p50_us"],
            "receive_p99_us": receive["p99_us"],
            "receive_to_floor": round(receive["mean_us"] / floor["mean_us"], 2),
            "locked_refusal_mean_us": refusal["mean_us"],
            "locked_refusal_p50_us": refusal["p50_us"],
            "locked_refusal_p99_us": refusal["p99_us"],
            "locked_refusals": refusal["events"],
        },
    )
    emit(report, as_json)


@bench_app.command("e2e")
def bench_e2e(
    breaches: int = typer.Option(1000, "--breaches", help="Breaches to enforce and time."),
    accounts: int = typer.Option(10, "--accounts", help="Simulator accounts the daemon guards."),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
) -> None:
    """Breach to enforcement request, simulator (another process) to daemon and back
    (target p50 ≤ 2 ms, p99 ≤ 10 ms; RSS ≤ 80 MB guarding 10 accounts)."""
    import asyncio

    from risk_manager.runtime.bench_e2e import run_e2e

    result = asyncio.run(run_e2e(breaches, accounts))
    summary = result.summary()
    floors = result.floors()
    to_fsync = ratios(summary, floors["fsync"])  # None below: a floor of 0, no ratio
    to_quiet = ratios(summary, floors["fsync_after_floor"])
    report = BenchReport(
        bench="e2e",
        command=command_line(
            "e2e", f"--breaches {breaches}", f"--accounts {accounts}", "--json" if as_json else ""
        ),
        figures={"p50_ms": summary["p50_ms"], "p99_ms": summary["p99_ms"]},
        floor=floors["bare"],
        floor_what="one WebSocket message and one HTTP request over loopback between the same "
        "two processes (sim/echo.py), no engine, no store",
        extra={
            "rss_mb": summary["rss_mb"],
            "breaches": breaches,
            "enforced": result.enforced,
            "max_ms": summary["max_ms"],
            "seconds": summary["seconds"],
            "fsync_floor_p50_ms": floors["fsync"]["p50_ms"],
            "fsync_floor_p99_ms": floors["fsync"]["p99_ms"],
            "ratio_to_fsync_floor_p50": to_fsync.get("p50_ms"),
            "ratio_to_fsync_floor_p99": to_fsync.get("p99_ms"),
            # The same over the floor rounds that followed a floor round: how much the figure
            # moves with what came before (docs/PERFORMANCE.md, seventh session).
            "fsync_floor_after_floor_p50_ms": floors["fsync_after_floor"]["p50_ms"],
            "ratio_to_fsync_floor_after_floor_p50": to_quiet.get("p50_ms"),
        },
    )
    emit(report, as_json)
    if result.enforced != breaches:
        typer.echo(f"only {result.enforced} of {breaches} breaches were enforced", err=True)
        raise typer.Exit(1)


@bench_app.command("sim")
def bench_sim(
    quotes: int = typer.Option(50_000, "--quotes", help="Quotes to deliver."),
    window: int = typer.Option(1_000, "--window", help="Quotes undelivered at most."),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
) -> None:
    """The simulator's market hub: quotes per second delivered to one raw WebSocket subscriber
    over loopback (target ≥ 5,000/s), beside the floor: a bare aiohttp WebSocket handler
    sending the same records in the same frames to the same subscriber."""
    import asyncio

    from risk_manager.sim.bench_quotes import run_bench, run_floor

    ours = asyncio.run(run_bench(quotes, window, "raw"))
    floor = asyncio.run(run_floor(quotes, window))
    report = BenchReport(
        bench="sim",
        command=command_line(
            "sim", f"--quotes {quotes}", f"--window {window}", "--json" if as_json else ""
        ),
        figures={"us_per_quote": round(1e6 / ours.per_second, 2)},
        floor={"us_per_quote": round(1e6 / floor.per_second, 2)},
        floor_what="the same quotes and frames from a bare aiohttp WebSocket handler, no hub",
        extra={
            "quotes_per_s": round(ours.per_second),
            "floor_quotes_per_s": round(floor.per_second),
            "quotes": quotes,
        },
    )
    emit(report, as_json)


@bench_app.command("accounts")
def bench_accounts(
    steps: str = typer.Option(
        "10,25,50,100,200,400", "--steps", help="Account counts to try, in order, comma-separated."
    ),
    seconds: float = typer.Option(10.0, "--seconds", min=0.5, help="Breaches run per step."),
    rate: float = typer.Option(5.0, "--rate", min=0.1, help="Events (quotes) per s per account."),
    dashboard: bool = typer.Option(
        False, "--dashboard", help="Serve the API and follow its stream from another process."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
) -> None:
    """Capacity: the most accounts one daemon guards at RATE events/s each with the p99 of
    breach to enforcement under 10 ms (simulator in another process), what limits it, and
    each step's floors (one WebSocket message and one HTTP request under the same load, and
    the same with an fsync'd journal commit).
    With --dashboard, a dashboard follows the daemon's stream all the while, as a trader's
    open dashboard does."""
    import asyncio

    from risk_manager.runtime.bench_accounts import run_accounts

    try:
        counts = [int(v) for v in steps.split(",") if v.strip()]
    except ValueError:
        raise typer.BadParameter(
            f"not a list of numbers: {steps!r}", param_hint="--steps"
        ) from None
    result = asyncio.run(run_accounts(counts, seconds, rate, dashboard))
    at_knee = next((s for s in result.steps if s.accounts == result.knee), result.steps[-1])
    report = BenchReport(
        bench="accounts",
        command=command_line(
            "accounts",
            f"--steps {steps}",
            f"--seconds {seconds:g}",
            f"--rate {rate:g}",
            "--dashboard" if dashboard else "",
            "--json" if as_json else "",
        ),
        figures={"p99_ms": at_knee.p99_ms},
        floor={"p99_ms": at_knee.floor_p99_ms, "fsync_p99_ms": at_knee.fsync_floor_p99_ms},
        floor_what="one WebSocket message and one HTTP request between the same two processes, "
        "under the same load, at the knee's step; fsync_p99_ms: the same with an fsync'd SQLite "
        "commit between them",
        extra=result.summary(),
    )
    emit(report, as_json)
    if not as_json:
        for s in result.steps:
            mark = "ok" if s.meets_target else "MISSED"
            typer.echo(
                f"  {s.accounts:5d} accounts: p50 {s.p50_ms} ms, p99 {s.p99_ms} ms ({mark}), "
                f"floor p99 {s.floor_p99_ms} ms ({s.fsync_floor_p99_ms} ms with an fsync), "
                f"loop lag ≤ {s.loop_lag_ms} ms, daemon CPU {s.daemon_cpu_pct}%, "
                f"simulator CPU {s.sim_cpu_pct}%, 429s {s.rest_429}, "
                f"{s.enforced}/{s.breaches} enforced"
                + (
                    ""
                    if s.dashboard is None
                    else f", dashboard {s.dashboard['accounts']:.0f} views "
                    f"({s.dashboard['bytes'] / 1000:.0f} kB) in {s.dashboard['seconds']:.1f} s"
                )
            )


@bench_app.command("start")
def bench_start(
    accounts: int = typer.Option(50, "--accounts", help="Simulator accounts the daemon guards."),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
) -> None:
    """Time to guard each account at start-up, on the product's own REST limits (simulator in
    another process); the last account holds a stored lock and a position: it goes first."""
    import asyncio

    from risk_manager.runtime.bench_start import run_start

    result = asyncio.run(run_start(accounts))
    summary = result.summary()
    if as_json:
        typer.echo(json.dumps(summary))
        return
    for key, value in summary.items():
        typer.echo(f"{key:>10}: {value}")
