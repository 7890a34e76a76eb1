"""End to end, the daemon's admin control (issue 13; docs/RUNTIME.md "Control", "Reload"):
the real daemon on its config file and a real SQLite store, against the simulator. A hot
reload applies a good file and refuses a bad one; a clearing and a loosening wait for their
delays across a restart (the daemon's clock moved on instead of waiting)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from risk_manager.config.rules import RulesConfig
from risk_manager.domain.errors import UnknownLock
from risk_manager.domain.locks import LockKind
from risk_manager.store import Store

from .conftest import Guard, ShiftedClock
from .helpers import BUY, SELL, SimTrader, wait_for


def limit_of(guard: Guard, rule: str = "daily_realized_loss") -> Decimal | None:
    """The limit the daemon's engine evaluates the account under now."""
    rules: RulesConfig = guard.actor.engine.rules_config(guard.trader.account_id)
    value = getattr(rules.rule(rule), "limit")  # noqa: B009 - every rule used here has one
    assert value is None or isinstance(value, Decimal)
    return value


async def health(guard: Guard) -> dict[str, Any]:
    """``/health`` of the daemon's local API."""
    async with guard.trader.session.get(f"{guard.api_url}/health") as reply:
        body: dict[str, Any] = await reply.json()
        return body


def loss_rule(limit: str) -> str:
    return f"  daily_realized_loss: {{enabled: true, limit: {limit}}}"


# A loss of $50 or more on one closing fill locks for 2 hours (RULE-007): a lock whose end
# does not depend on the time of day the test runs at.
COOLDOWN_2H = "  cooldown_after_loss: {enabled: true, tiers: [{loss: 50, cooldown: 2h}]}"


def rewrite(guard: Guard, rules: str) -> None:
    """The admin edits the ``rules:`` of the config file (the other sections kept)."""
    text = guard.config_path.read_text(encoding="utf-8")
    head, _, _ = text.partition("rules:\n")
    guard.config_path.write_text(f"{head}rules:\n  retry_after: 1s\n{rules}\n", encoding="utf-8")


async def test_hot_reload_applies_a_tightening_and_refuses_a_bad_file(
    guard: Guard, trader: SimTrader
) -> None:
    await guard.start(loss_rule("1000"), from_file=True, serve_api=True)

    # A bad file: refused with its reason, shown on /health; the old limit stays in force.
    rewrite(guard, loss_rule("-5"))

    async def refused() -> str | None:
        problem = (await health(guard))["problem"] or ""
        return problem if "config reload refused" in problem else None

    problem = await wait_for(refused, "/health showing the refused reload")
    assert "rules.daily_realized_loss.limit" in problem
    assert limit_of(guard) == Decimal(1000)

    # A good file (the file watcher reloads it): the tighter limit applies at once, and the
    # refusal is gone.
    rewrite(guard, loss_rule("100"))

    async def tightened() -> bool:
        return limit_of(guard) == Decimal(100)

    await wait_for(tightened, "the reload applying the limit of 100")
    assert "config reload refused" not in ((await health(guard))["problem"] or "")

    # The next breach locks at the new limit (about −200 loses less than the old 1000).
    await trader.round_trip("MNQ", BUY, 2, "20950")
    lock = await guard.wait_lock("daily_realized_loss")
    assert "≤ −100.00" in lock.reason


async def test_a_clearing_waits_for_the_unlock_delay_across_a_restart(
    guard: Guard, trader: SimTrader
) -> None:
    clock = ShiftedClock()
    extra = "admin:\n  unlock_delay: 15m\n"
    # A soft lock (no flatten, so no fill of ours adds a lock) that a cleared account does
    # not make again: a minute's fills counted from the daemon's clock are none once it has
    # moved on.
    rules = (
        "  trade_frequency_limit: "
        "{enabled: true, per_minute: 2, flatten: false, cooldown: {per_minute: 1h}}"
    )
    await guard.start(rules, from_file=True, extra=extra, clock=clock, serve_api=True)
    await trader.open_position("MNQ", BUY, 1)
    await trader.market("MNQ", SELL, 1)
    await trader.market("MNQ", BUY, 1)  # the third fill in a minute: locked for an hour
    lock = await guard.wait_lock("trade_frequency_limit", LockKind.SOFT)
    held = [lock.id]

    result = await guard.daemon.control.clear_lock(
        trader.account_id, None, who="admin", reason="reviewed"
    )
    assert result.effective_at - clock() > timedelta(minutes=14)
    assert [k["id"] for k in result.before["locks"]] == held
    assert "(in 15 m)" in result.summary

    async def shown() -> dict[str, Any] | None:
        view: dict[str, Any] = await guard.api(f"accounts/{trader.account_id}")
        locks = view["locks"]
        return locks[0] if locks and locks[0]["clearing_at"] else None

    shown_lock = await wait_for(shown, "the account view showing the pending clearing")
    assert shown_lock["cleared_by"] == "admin"
    assert shown_lock["clearing"].startswith("clearing at ")

    # A restart: the locks still hold, and are enforced.
    await guard.stop()
    await guard.start(rules, from_file=True, extra=extra)
    assert [k.id for k in guard.locks()] == held
    assert all(k.cleared_by == "admin" for k in guard.locks())
    order = await trader.limit("MNQ", BUY, 1, "20000")  # an entry: refused while soft-locked
    await trader.wait_cancelled(order)
    # Past the due time the engine drops them (its wake-up), and the store no longer has them.
    clock.advance(minutes=16)

    async def unlocked() -> bool:
        view = guard.actor.engine.view(trader.account_id, clock())
        return not view.locked and not guard.locks()

    await wait_for(unlocked, "the lock gone at the end of the unlock delay")
    await trader.market("MNQ", BUY, 1)

    async def seen() -> bool:
        view = guard.actor.engine.view(trader.account_id, clock())
        return [p.position.size for p in view.positions] == [2]

    await wait_for(seen, "the daemon seeing the bigger position")
    assert not guard.actor.engine.in_flight(trader.account_id)  # nothing closes it
    assert list((await trader.positions("MNQ")).values()) == [2]


async def test_a_loosening_waits_for_the_loosen_delay_across_a_restart(
    guard: Guard, trader: SimTrader
) -> None:
    clock = ShiftedClock()
    extra = "admin:\n  loosen_delay: 30m\n"
    await guard.start(loss_rule("100"), from_file=True, extra=extra, clock=clock, serve_api=True)
    control = guard.daemon.control

    rewrite(guard, loss_rule("1000"))
    result = await control.reload(who="admin", reason="calm day")
    assert result.ok and result.effective_at > clock() + timedelta(minutes=29)
    assert limit_of(guard) == Decimal(100)  # not yet
    (pending,) = control.pending(trader.account_id)
    assert (pending.rule, pending.before["limit"], pending.after["limit"]) == (
        "daily_realized_loss",
        "100",
        "1000",
    )

    async def shown() -> list[Any] | None:
        view: dict[str, Any] = await guard.api(f"accounts/{trader.account_id}")
        return view["pending_loosenings"] or None

    (line,) = await wait_for(shown, "the account view showing the pending loosening")
    assert line["text"].startswith("daily_realized_loss limit 100 → 1000 at ")

    # A restart on the loosened file: still not applied, the due time kept.
    await guard.stop()
    await guard.start(loss_rule("1000"), from_file=True, extra=extra)
    control = guard.daemon.control
    assert limit_of(guard) == Decimal(100)
    assert [p.due_at for p in control.pending(trader.account_id)] == [pending.due_at]

    clock.advance(minutes=31)

    async def loosened() -> bool:
        return limit_of(guard) == Decimal(1000)

    await wait_for(loosened, "the loosening applied at its due time")
    assert not control.pending()

    # A tightening applies at once.
    rewrite(guard, loss_rule("50"))
    now = clock()
    result = await control.reload(who="admin", reason="tilt")
    assert result.ok and now <= result.effective_at <= clock()
    assert limit_of(guard) == Decimal(50)

    # A later tightening of the same rule cancels its pending loosening.
    rewrite(guard, loss_rule("500"))
    assert (await control.reload(who="admin", reason="calm")).ok
    assert [p.after["limit"] for p in control.pending(trader.account_id)] == ["500"]
    rewrite(guard, loss_rule("40"))
    assert (await control.reload(who="admin", reason="tilt again")).ok
    assert limit_of(guard) == Decimal(40)
    assert not control.pending()


async def test_a_loosening_never_ends_a_lock_already_made(guard: Guard, trader: SimTrader) -> None:
    await guard.start(loss_rule("100"), from_file=True)  # loosen_delay 0: at once
    await trader.round_trip("MNQ", BUY, 2, "20950")
    lock = await guard.wait_lock("daily_realized_loss")
    await trader.wait_flat("MNQ")

    rewrite(guard, "  daily_realized_loss: {enabled: false}")
    result = await guard.daemon.control.reload(who="admin", reason="off")
    assert result.ok
    assert not guard.actor.engine.rules_config(trader.account_id).daily_realized_loss.enabled
    assert [k.id for k in guard.locks()] == [lock.id]
    await guard.assert_locked_out("MNQ", "20900")

    with pytest.raises(UnknownLock, match="lock 9999 is not an active lock of account"):
        await guard.daemon.control.clear_lock(trader.account_id, 9999, who="a", reason="x")

    # Cleared by its id (unlock_delay 0): the engine's own copy ends too (its ids may differ).
    assert lock.id is not None
    await guard.daemon.control.clear_lock(trader.account_id, lock.id, who="a", reason="ok")
    assert not guard.locks()
    assert not guard.actor.engine.view(trader.account_id, guard.clock()).locked


async def test_a_file_loosened_while_the_daemon_was_down_still_waits(
    guard: Guard, trader: SimTrader
) -> None:
    clock = ShiftedClock()
    extra = "admin:\n  loosen_delay: 30m\n"
    await guard.start(loss_rule("100"), from_file=True, extra=extra, clock=clock)
    await guard.stop()
    await guard.start(loss_rule("1000"), from_file=True, extra=extra)  # edited while down
    assert limit_of(guard) == Decimal(100)
    (pending,) = guard.daemon.control.pending(trader.account_id)
    assert pending.after["limit"] == "1000"
    assert pending.due_at > clock() + timedelta(minutes=29)


async def test_an_account_taken_off_the_file_stays_guarded_across_a_restart(
    guard: Guard, trader: SimTrader
) -> None:
    # A trader mid-tilt who is also the admin: locked, they disable the account in the file
    # (`admin accounts disable`; the live reload refuses it, "needs a restart") and restart
    # the daemon. No longer guarding an account is a loosening: it waits for
    # admin.loosen_delay, and an account with an active lock stays guarded while it lasts.
    # The lock is a 2-hour cooldown, not one until the reset: the clock moves on 31 min, and
    # a lock ending at the 17:00 CT reset would rightly end inside that when run near it.
    clock = ShiftedClock()
    extra = "admin:\n  loosen_delay: 30m\n"
    await guard.start(COOLDOWN_2H, from_file=True, extra=extra, clock=clock)
    await trader.round_trip("MNQ", BUY, 2, "20950")
    lock = await guard.wait_lock("cooldown_after_loss")
    assert lock.ends_at is not None and lock.ends_at - clock() > timedelta(minutes=100)
    await trader.wait_flat("MNQ")
    await guard.stop()

    off = f"{extra}accounts:\n  list:\n    - {{id: {trader.account_id}, enabled: false}}\n"
    async with asyncio.timeout(30):  # unguarded, the daemon waits for an account forever
        await guard.start(COOLDOWN_2H, from_file=True, extra=off)
    (pending,) = guard.daemon.control.pending(trader.account_id)
    assert (pending.rule, pending.after) == ("guarded", {"guarded": False})
    assert pending.due_at > clock() + timedelta(minutes=29)
    assert [k.id for k in guard.locks()] == [lock.id]
    await guard.assert_locked_out("MNQ", "20900")

    # Past the delay the lock still holds it: a restart keeps guarding the account.
    clock.advance(minutes=31)

    async def released() -> bool:
        return not guard.daemon.control.pending(trader.account_id)

    await wait_for(released, "the unguarding due")
    await guard.stop()
    async with asyncio.timeout(30):
        await guard.start(COOLDOWN_2H, from_file=True, extra=off)
    assert trader.account_id in guard.daemon.actors
    await guard.assert_locked_out("MNQ", "20900")


async def test_an_account_off_the_file_is_released_once_its_delay_is_over(
    guard: Guard, trader: SimTrader
) -> None:
    clock = ShiftedClock()
    extra = "admin:\n  loosen_delay: 30m\n"
    await guard.start(loss_rule("100"), from_file=True, extra=extra, clock=clock)
    await guard.stop()
    off = f"{extra}accounts:\n  list:\n    - {{id: {trader.account_id}, enabled: false}}\n"
    await guard.start(loss_rule("100"), from_file=True, extra=off)
    assert guard.daemon.control.holds(trader.account_id)
    clock.advance(minutes=31)

    async def released() -> bool:
        return not guard.daemon.control.holds(trader.account_id)

    await wait_for(released, "the unguarding due")
    await guard.stop()
    # The next start no longer guards it (no account left: it would wait for one), so what it
    # would plan from is what was stored: nothing in force for the account any more, else each
    # start would hold it for another delay, for ever.
    with Store.open(guard.db) as store:
        assert trader.account_id not in store.settings_in_force()
        assert not store.pending_loosenings()
