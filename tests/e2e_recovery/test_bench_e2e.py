"""``risk-manager bench e2e`` end to end, tiny: the JSON figures, and every breach enforced."""

from __future__ import annotations

import http.client
import io
import json
import sqlite3
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
from typer.testing import CliRunner

from risk_manager.cli.main import app
from risk_manager.runtime import bench_e2e, bench_trader
from risk_manager.runtime.bench_e2e import (
    PRICE,
    BenchTrader,
    E2EResult,
    Journal,
    SentWaker,
    latencies_ms,
    percentile,
    run_e2e,
)
from risk_manager.runtime.bench_trader import TraderProcess
from risk_manager.runtime.enforcement_first import EnforcementFirst
from risk_manager.sim.process import spawned_sim


def test_bench_e2e_json_and_every_breach_enforced() -> None:
    result = CliRunner().invoke(app, ["bench", "e2e", "--breaches", "20", "--json"])
    # exit code 1 (and a message) when fewer partial closes than breaches reached the simulator
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    figures, floor = report["figures"], report["floor"]
    assert report["bench"] == "e2e" and report["machine"]["cores"] >= 1
    assert 0 < figures["p50_ms"] <= figures["p99_ms"]
    assert figures["rss_mb"] > 0 and figures["enforced"] == figures["breaches"] == 20
    # both floors measured in the same run, and the ratios to them
    assert 0 < floor["p50_ms"] <= floor["p99_ms"]
    assert 0 < figures["fsync_floor_p50_ms"] <= figures["fsync_floor_p99_ms"]
    assert report["ratio_to_floor"]["p50_ms"] == round(figures["p50_ms"] / floor["p50_ms"], 2)
    # the fsync floor over the rounds after a floor round only, and the ratio to it
    quiet = figures["fsync_floor_after_floor_p50_ms"]
    assert quiet > 0
    assert figures["ratio_to_fsync_floor_after_floor_p50"] == round(figures["p50_ms"] / quiet, 2)


def test_the_fsync_floor_after_a_floor_round_counts_only_those_rounds() -> None:
    result = E2EResult(
        2, 2, (4.0, 5.0), 70.0, 1.0, (1.0, 1.0), (3.0, 2.0, 9.0, 2.5), (True, False, True, False)
    )
    floors = result.floors()
    assert floors["fsync"]["p99_ms"] == 9.0
    assert floors["fsync_after_floor"] == {"p50_ms": 2.0, "p99_ms": 2.5}
    unmarked = E2EResult(1, 1, (4.0,), 70.0, 1.0, (1.0,), (3.0,))
    assert unmarked.floors()["fsync_after_floor"] == {"p50_ms": 0.0, "p99_ms": 0.0}


def test_latencies_pair_each_close_with_its_accounts_last_breach() -> None:
    def event(t: int, acct: int, size: int) -> dict[str, object]:
        return {"t_ns": t, "target": "GatewayUserPosition", "accountId": acct, "size": size}

    def close(t: int, acct: int) -> dict[str, object]:
        return {"t_ns": t, "path": "Position/partialCloseContract", "accountId": acct}

    timings = {
        "events": [event(1_000_000, 1, 2), event(1_500_000, 2, 2), event(2_000_000, 1, 1)],
        "requests": [
            close(4_000_000, 2),
            close(3_000_000, 1),
            close(9_000_000, 1),  # no breach before it: not counted
            {"t_ns": 3_500_000, "path": "Order/place", "accountId": 1},
        ],
    }
    assert latencies_ms(timings) == [2.0, 2.5]


def test_nearest_rank_percentile() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile([], 99) == 0.0


def test_the_waiter_is_woken_only_once_the_breachs_close_is_sent() -> None:
    """The order, fill and order before the breaching position wake nobody (each wake is a
    task step on the daemon's loop, inside the latency measured)."""
    waker = SentWaker()
    actor: Any = SimpleNamespace(enforcer=SimpleNamespace(sends=4))
    waker.actors[7] = actor
    waker.wanted[7] = 5
    for _ in range(3):
        waker(7)
    assert not waker.changed.is_set()
    actor.enforcer.sends = 5  # the close went out
    waker(7)
    assert waker.changed.is_set()
    waker.changed.clear()
    waker(8)  # not one of the bench's accounts: woken as before
    assert waker.changed.is_set()


async def test_the_traders_buys_come_from_its_own_process(monkeypatch: Any) -> None:
    """No buy goes out over an HTTP client of the bench's own process (whose reply would run
    on the daemon's loop inside the breach it caused): all come from ``TraderProcess``."""
    paths: list[str] = []
    request = aiohttp.ClientSession._request

    async def recording(self: aiohttp.ClientSession, method: str, url: Any, **kw: Any) -> Any:
        paths.append(str(url))
        return await request(self, method, url, **kw)

    monkeypatch.setattr(aiohttp.ClientSession, "_request", recording)
    result = await run_e2e(breaches=4, accounts=2)
    assert result.enforced == 4
    assert any("partialCloseContract" in p for p in paths)  # the daemon's own calls are seen
    assert not [p for p in paths if "Order/place" in p]


async def test_the_trader_process_buys_and_says_why_it_failed() -> None:
    async with spawned_sim(["T-1=50000"]) as sim, aiohttp.ClientSession() as session:
        setup = BenchTrader(sim.url, session)
        await setup.login()
        contract = await setup.contract()
        await setup.post("/sim/price", {"contractId": contract, "price": PRICE})
        accounts = await setup.post("/api/Account/search", {"onlyActiveAccounts": True})
        account_id = accounts["accounts"][0]["id"]
        async with TraderProcess.started(sim.url) as trader:
            trader.buy(account_id, contract)
            await trader.result()
            found = await setup.post("/api/Position/searchOpen", {"accountId": account_id})
            assert [p["size"] for p in found["positions"]] == [1]
            trader.buy(999_999, contract)  # no such account: refused
            with pytest.raises(RuntimeError, match="Order/place"):
                await trader.result()
            trader.buy(account_id, contract)  # a refusal is reported once, then it goes on
            await trader.result()


def test_the_trader_child_answers_only_results_and_reports_a_cut_reply(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The child's loop (``serve``): a line it cannot read and a reply cut short (an
    ``http.client.HTTPException`` that is no ``OSError``) are told at the next ``result``, never
    as a reply of their own, which the parent would read as the next buy's outcome."""
    buys: list[tuple[int, str]] = []

    class Client:
        def __init__(self, url: str) -> None:
            pass

        def login(self) -> None:
            pass

        def buy(self, account_id: int, contract_id: str) -> None:
            buys.append((account_id, contract_id))
            if contract_id == "CUT":
                raise http.client.IncompleteRead(b"{")

    monkeypatch.setattr(bench_trader, "_Client", Client)
    commands = io.StringIO("hello\nresult\nbuy 1 CUT\nresult\nbuy 1 MNQ\nresult\n")
    replies = io.StringIO()
    bench_trader.serve("http://127.0.0.1:1", commands, replies)
    lines = replies.getvalue().splitlines()
    assert lines[0] == "ready"
    assert lines[1] == "error: unknown command 'hello'"
    assert lines[2].startswith("error: IncompleteRead")
    assert lines[3:] == ["ok"]  # one line per result, no more
    assert buys == [(1, "CUT"), (1, "MNQ")]


async def test_the_fsync_floors_write_holds_the_daemon_as_an_enforcements_does(
    tmp_path: Path,
) -> None:
    """Under a daemon's load (``bench accounts``), the fsync floor's commit holds the daemon's
    quote fan-out and read side while it is in flight, as a breach's journal write does, and
    lets go once it landed; without a daemon's hold it is a plain commit."""
    first = EnforcementFirst(cap=3600.0)  # busy however late the write's thread starts
    journal = Journal(tmp_path / "floor.sqlite", first)
    seen: list[bool] = []
    write = journal._write

    def spied(n: int) -> None:
        seen.append(first.busy)
        write(n)

    journal._write = spied  # type: ignore[method-assign]
    try:
        await journal.write(1)
        assert seen == [True] and not first.busy
    finally:
        journal.close()
    plain = Journal(tmp_path / "plain.sqlite")  # no daemon's hold to take: a plain commit
    try:
        await plain.write(2)
    finally:
        plain.close()
    conn = sqlite3.connect(tmp_path / "plain.sqlite")
    try:
        assert conn.execute("SELECT n FROM floor").fetchall() == [(2,)]
    finally:
        conn.close()


async def test_the_floors_are_measured_beside_the_breaches_in_a_balanced_order(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A round of each floor beside each breach, in the order B F F B B F ...: side by side
    in one run (a drifting machine moves both), and each kind follows its own kind as often
    as the other, so neither alone meets what the other leaves behind."""
    order: list[str] = []
    breach, floor_round = bench_e2e.breach, bench_e2e.Floors.round

    async def breach_(*args: Any) -> None:
        order.append("B")
        await breach(*args)

    async def round_(self: bench_e2e.Floors, after_breach: bool = True) -> None:
        order.append("F")
        await floor_round(self, after_breach)

    monkeypatch.setattr(bench_e2e, "breach", breach_)
    monkeypatch.setattr(bench_e2e.Floors, "round", round_)
    result = await run_e2e(breaches=4, accounts=2)
    measured = order[order.index("F") - 1 :]  # from the first measured breach on
    assert "".join(measured) == "BFFBBFFB"
    assert result.enforced == 4 and len(result.floor_ms) == len(result.fsync_floor_ms) == 4
    assert result.floor_after_breach == (True, False, True, False)  # what came before each


async def test_a_floor_round_outside_its_context_says_so(tmp_path: Path) -> None:
    async with aiohttp.ClientSession() as session:
        floors = bench_e2e.Floors(session, "http://127.0.0.1:1", tmp_path / "f.sqlite")
        with pytest.raises(RuntimeError, match="outside 'async with Floors"):
            await floors.round()
        async with spawned_sim(["F-1=50000"], extra=["--timings"]) as sim:
            async with bench_e2e.Floors(session, sim.url, tmp_path / "g.sqlite") as floors:
                await floors.round()
                await floors.round()
            assert len(floors.bare) == len(floors.fsync) == 2
            assert all(ms > 0 for ms in floors.bare + floors.fsync)
            with pytest.raises(RuntimeError, match="outside"):  # closed: not a closed journal
                await floors.round()
