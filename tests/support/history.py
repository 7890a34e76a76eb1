"""A store holding yesterday's trading (fills, a lock an admin cleared, a cooldown that ran
out) and an unstarted daemon over it guarding that account: what the history view reads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from risk_manager.config.models import Config
from risk_manager.domain.enums import OrderSide
from risk_manager.domain.locks import Lock, LockKind
from risk_manager.domain.models import Trade
from risk_manager.engine.engine import Engine
from risk_manager.engine.factory import calendar_for
from risk_manager.runtime.actor import AccountActor
from risk_manager.runtime.daemon import Daemon
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


def seed_history(store: Store) -> None:
    """Yesterday (trading day 2026-03-10): two fills and a voided one, a daily loss lock
    cleared by ``admin:jo``, a cooldown that ran out; today a winning fill; a fill of last
    week."""
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


def daemon_over(store: Store) -> Daemon:
    """An unstarted daemon over ``store`` at ``NOW``, guarding ``ACCT`` with a real actor."""
    config = Config.model_validate({})
    daemon = daemon_from_fakes(config, store=store, clock=lambda: NOW)
    engine = Engine(config.rules_for(ACCT), calendar_for(config.trading_day), config.catalog())
    enforcer = Enforcer(None, store, lambda: NOW)  # type: ignore[arg-type]
    daemon.actors[ACCT] = AccountActor(ACCT, engine, enforcer, store, lambda: NOW, Metrics())
    return daemon
