"""Enforcement first (runtime/enforcement_first.py): while an enforcement's journal write is in
flight, the quote fan-out holds its backlog, so the write's thread is not kept off the
interpreter's lock by hundreds of accounts' engines (docs/PERFORMANCE.md "Capacity"). Counted
in quotes handed over and in the hold's own counters, never timed."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from decimal import Decimal
from pathlib import Path
from typing import Any

from risk_manager.domain.actions import ClosePosition
from risk_manager.domain.events import QuoteEvent
from risk_manager.domain.models import Quote
from risk_manager.runtime.enforcement_first import EnforcementFirst
from risk_manager.runtime.enforcer import Book, Enforcer
from risk_manager.runtime.quote_fanout import SLICE, QuoteFanout
from risk_manager.store import Store
from runtime.test_enforcer import ACCT, MNQ, NOW, FakeBroker, _position
from support.daemons import daemon_from_fakes


def _quote(price: int) -> QuoteEvent:
    return QuoteEvent(NOW, Quote(MNQ, last_price=Decimal(price)))


def _fanout(first: EnforcementFirst) -> tuple[QuoteFanout, list[tuple[int, QuoteEvent]], set[Any]]:
    handed: list[tuple[int, QuoteEvent]] = []
    tasks: set[asyncio.Task[None]] = set()

    def spawn(coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.create_task(coro, name=name)
        tasks.add(task)
        return task

    return QuoteFanout(lambda a, q: handed.append((a, q)), spawn, first=first), handed, tasks


async def test_the_backlog_waits_while_a_journal_write_is_in_flight() -> None:
    first = EnforcementFirst(cap=60.0)
    fanout, handed, tasks = _fanout(first)
    first.begin()
    fanout.fan_out(_quote(1), range(50))
    fanout.fan_out(_quote(2), range(50))
    for _ in range(20):  # many loop turns: nothing handed over, not even the inline slice
        await asyncio.sleep(0)
    assert handed == [] and fanout.pending == 100 and first.holds == 1
    first.end()
    async with asyncio.timeout(10):  # a deadline, not a measure
        await asyncio.gather(*tasks)
    # every account got both quotes, in order
    assert [a for a, _ in handed] == [*range(50), *range(50)]
    assert [q.quote.last_price for _, q in handed] == [Decimal(1)] * 50 + [Decimal(2)] * 50


async def test_nothing_is_held_when_no_write_is_in_flight() -> None:
    first = EnforcementFirst()
    fanout, handed, _ = _fanout(first)
    fanout.fan_out(_quote(1), range(3))
    assert len(handed) == 3  # inline, as before
    await first.wait()  # returns at once
    assert first.holds == 0


async def test_the_hold_ends_at_its_cap_while_the_write_goes_on() -> None:
    """A stuck store never stops the quotes: after ``cap`` of one busy spell they flow."""
    clock = [0.0]
    first = EnforcementFirst(cap=0.01, clock=lambda: clock[0])
    first.begin()
    assert first.busy
    clock[0] = 0.02  # the spell is older than the cap
    assert not first.busy
    await first.wait()  # returns although the write is still in flight
    first.begin()  # a second write joins the same spell: still past the cap
    assert not first.busy
    first.end()
    first.end()
    first.begin()  # a new spell holds again
    assert first.busy


async def test_the_enforcer_holds_from_submit_until_its_journal_write_lands(
    tmp_path: Path,
) -> None:
    store = Store.open(tmp_path / "rm.sqlite")
    first = EnforcementFirst(cap=60.0)
    release = threading.Event()
    seen: list[bool] = []

    async def blocked(fn: Any, *args: Any) -> Any:  # the journal's thread, held until released
        seen.append(first.busy)
        await asyncio.to_thread(release.wait, 10)
        return fn(*args)

    enforcer = Enforcer(FakeBroker(store), store, lambda: NOW, run_blocking=blocked, first=first)
    task = enforcer.submit(
        ClosePosition(at=NOW, account_id=ACCT, rule="r", reason="r", contract_id=MNQ),
        Book(positions=[_position(MNQ)]),
    )
    assert first.busy  # from the submit
    await asyncio.sleep(0.01)
    assert first.busy and seen == [True]  # the intent's write is in flight
    release.set()
    await enforcer.until_journalled([task], 10)
    assert not first.busy  # landed: the quotes flow again, the send goes on
    async with asyncio.timeout(10):
        await task
    store.close()


def test_the_daemons_enforcers_tell_its_quote_fanout() -> None:
    daemon = daemon_from_fakes()
    session = daemon.session
    actor = daemon._actor(ACCT, session, daemon._parts.alerts)
    assert actor.enforcer._first is session.quotes.first


async def test_a_quote_is_held_at_most_the_cap_in_all() -> None:
    """A new busy spell (another breach, one account's enforcements back to back) does not
    hold a quote held earlier past the cap: the bound is per quote, not per spell."""
    clock = [0.0]
    first = EnforcementFirst(cap=0.01, clock=lambda: clock[0])
    fanout, handed, tasks = _fanout(first)
    first.begin()
    fanout.fan_out(_quote(1), range(50))  # held from the start
    for _ in range(5):
        await asyncio.sleep(0)
    assert handed == [] and first.holds == 1
    clock[0] = 0.01  # held the whole cap; the spell ends, a new one starts at once
    first.end()
    first.begin()
    assert first.busy
    async with asyncio.timeout(10):  # a deadline, not a measure
        await asyncio.gather(*tasks)
    assert [a for a, _ in handed] == list(range(50)) and first.busy
    assert first.holds == 1  # none of its later slices waited for the new spell
    holds = first.holds
    await first.wait(at_most=0.0)  # nothing left of its bound: at once, nothing held
    assert first.holds == holds


async def test_a_quote_long_in_its_hand_over_is_still_held_for_a_write() -> None:
    """The bound counts the time held, not the quote's age: a quote whose hand-over to
    hundreds of accounts has outlasted the cap (its own slices, the loop busy elsewhere) still
    waits for a breach's journal write that starts now. Counted from its age, it was handed
    over at once, and the write's thread met the very engines this hold is for
    (docs/PERFORMANCE.md "Capacity")."""
    clock = [0.0]
    first = EnforcementFirst(cap=0.01, clock=lambda: clock[0])
    fanout, handed, tasks = _fanout(first)
    fanout.fan_out(_quote(1), range(50))  # nothing in flight: the first slice inline
    assert len(handed) == SLICE
    clock[0] = 0.05  # five caps later, its hand-over is still going on
    first.begin()  # a breach's journal write
    for _ in range(20):
        await asyncio.sleep(0)
    assert len(handed) == SLICE and first.holds == 1  # held
    first.end()
    async with asyncio.timeout(10):  # a deadline, not a measure
        await asyncio.gather(*tasks)
    assert [a for a, _ in handed] == list(range(50))


async def test_a_cancel_that_races_the_writes_landing_is_kept() -> None:
    """The write lands and the holder is cancelled in the same loop callback (the daemon's
    stop while a dashboard's refresh is held): the holder ends cancelled. With
    ``asyncio.wait_for`` on 3.11 the cancel was dropped (gh-86296), and the refresh outlived
    the stop."""
    first = EnforcementFirst(cap=60.0)
    first.begin()
    held = asyncio.create_task(first.wait())
    for _ in range(5):
        await asyncio.sleep(0)
    assert first.holds == 1 and not held.done()
    first.end()
    held.cancel()
    async with asyncio.timeout(10):  # a deadline, not a measure
        with contextlib.suppress(asyncio.CancelledError):
            await held
    assert held.cancelled()


async def test_a_quote_behind_another_counts_the_holds_it_waited_through() -> None:
    """Two quotes queued while a write is in flight: the second waited through the same hold
    as the first, so when it reaches the head of the backlog it is held only for what is left
    of its cap, not a fresh one (each quote's bound is its own, whatever queue it waited in)."""
    clock = [0.0]
    first = EnforcementFirst(cap=0.01, clock=lambda: clock[0])
    fanout, handed, tasks = _fanout(first)
    first.begin()
    fanout.fan_out(_quote(1), range(50))
    fanout.fan_out(_quote(2), range(50))
    for _ in range(5):
        await asyncio.sleep(0)
    assert handed == [] and first.holds == 1
    asked: list[tuple[int, float | None]] = []  # (deliveries made, at_most) of each later hold

    async def spy(at_most: float | None = None) -> None:
        asked.append((len(handed), at_most))

    first.wait = spy  # type: ignore[method-assign]
    clock[0] = 0.006  # both quotes were held 6 ms; a new spell starts as the first ends
    first.end()
    first.begin()
    async with asyncio.timeout(10):  # a deadline, not a measure
        await asyncio.gather(*tasks)
    assert len(handed) == 100
    assert any(n >= 50 for n, _ in asked)  # asked again with the second quote at the head
    assert all(at_most is not None and at_most <= 0.004 + 1e-9 for _, at_most in asked)
