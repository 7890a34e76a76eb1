"""``GET /api/v1/history`` over a real store (issue 15 item 5): past trading days with their
realized P&L, fees, fills and locks (reasons, who cleared them), and the ended locks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import aiohttp

from risk_manager.api.server import running_api
from risk_manager.config.models import Config
from risk_manager.domain.enums import OrderSide
from risk_manager.domain.locks import Lock, LockKind
from risk_manager.domain.models import Trade
from risk_manager.engine.engine import Engine
from risk_manager.engine.factory import calendar_for
from risk_manager.runtime.actor import AccountActor
from risk_manager.runtime.enforcer import Enforcer
from risk_manager.runtime.metrics import Metrics
from risk_manager.store import Store
from support.daemons import daemon_from_fakes

ACCT = 11
NOW = datetime(2026, 3, 11, 15, 0, tzinfo=UTC)  # Wednesday 10:00 CT: trading day 03-11
YESTERDAY = datetime(2026, 3, 10, 18, 0, tzinfo=UTC)  # 13:00 CT: trading day 03-10
LAST_WEEK = datetime(2026, 3, 2, 18, 0, tzinfo=UTC)


def _fill(trade_id: int, at: datetime, pnl: str | None, fees: str, voided: bool = False) -> Trade:
    profit = None if pnl is None else Decimal(pnl)
    return Trade(trade_id, ACCT, "CON.F.US.MNQ.H26", at, Decimal("21000"), OrderSide.ASK, 1,
                 trade_id, fees=Decimal(fees), profit_and_loss=profit, voided=voided)  # fmt: skip


def _seed(store: Store) -> None:
    calendar = calendar_for(Config.model_validate({}).trading_day)
    for trade in (
        _fill(1, YESTERDAY, None, "0.74"),
        _fill(2, YESTERDAY + timedelta(minutes=3), "-310.00", "0.74"),
        _fill(3, YESTERDAY + timedelta(minutes=4), "-999.00", "0.74", voided=True),
        _fill(4, NOW - timedelta(minutes=30), "120.00", "1.48"),
        _fill(5, LAST_WEEK, "50.00", "0.74"),
    ):
        store.add_fill(trade, calendar.trading_day(trade.created_at))
    lock = store.add_lock(
        Lock(
            ACCT,
            "daily_realized_loss",
            LockKind.HARD,
            "daily_realized_loss: realized −311.48 ≤ −300.00 (limit); flatten, locked until "
            "2026-03-10 17:00 CT",
            YESTERDAY + timedelta(minutes=3),
            None,
        )
    )
    assert lock.id is not None
    store.clear_lock(lock.id, YESTERDAY + timedelta(hours=1), "admin:jo", "reviewed the fill")
    store.add_lock(
        Lock(
            ACCT,
            "cooldown_after_loss",
            LockKind.HARD,
            "cooldown_after_loss: 15m",
            YESTERDAY + timedelta(minutes=3),
            YESTERDAY + timedelta(minutes=18),
        )
    )


async def test_history_lists_yesterdays_lock_who_cleared_it_and_the_days_totals(
    tmp_path: Path,
) -> None:
    with Store.open(tmp_path / "rm.db") as store:
        _seed(store)
        config = Config.model_validate({})
        daemon = daemon_from_fakes(config, store=store, clock=lambda: NOW)
        engine = Engine(config.rules_for(ACCT), calendar_for(config.trading_day), config.catalog())
        enforcer = Enforcer(None, store, lambda: NOW)  # type: ignore[arg-type]
        daemon.actors[ACCT] = AccountActor(ACCT, engine, enforcer, store, lambda: NOW, Metrics())
        async with (
            running_api(daemon.read_side, Metrics(), port=0) as api,
            aiohttp.ClientSession() as http,
        ):
            async with http.get(f"{api.url}/api/v1/history?days=3") as reply:
                assert reply.status == 200
                history = await reply.json()
            async with http.get(f"{api.url}/api/v1/history?days=0") as reply:
                assert reply.status == 400 and (await reply.json())["parameter"] == "days"

    assert history["time_zone"] == "America/Chicago" and history["time_zone_label"] == "CT"
    today, yesterday = history["days"]  # last week's day is outside the 3 days asked
    assert today["trading_day"] == "2026-03-11" and today["today"] is True
    (row,) = today["accounts"]
    assert (row["realized"], row["fees"], row["fills"], row["locks"]) == ("118.52", "1.48", 1, [])
    assert yesterday["trading_day"] == "2026-03-10" and yesterday["today"] is False
    (row,) = yesterday["accounts"]
    # the voided fill counts nowhere: -310 - 2 × 0.74 fees
    assert (row["realized"], row["gross"], row["fees"]) == ("-311.48", "-310.00", "1.48")
    assert (row["fills"], row["round_turns"]) == (2, 1)
    by_rule = {lock["rule"]: lock for lock in row["locks"]}
    cleared = by_rule["daily_realized_loss"]
    assert cleared["ended_by"] == "admin:jo" and cleared["clear_reason"] == "reviewed the fill"
    assert cleared["ended_at"] == "2026-03-10T19:00:00Z" and cleared["active"] is False
    timed_out = by_rule["cooldown_after_loss"]
    assert timed_out["ended_by"] is None and timed_out["ended_at"] == "2026-03-10T18:18:00Z"
    assert {lock["rule"] for lock in history["ended_locks"]} == set(by_rule)
