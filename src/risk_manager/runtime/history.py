"""The history view (``GET /api/v1/history``, docs/API.md): past trading days and ended locks,
read from the store (fills and lock rows), never from memory, so it is the same after a
restart. Blocking: the read side runs it in a worker thread on the read-only connection."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Protocol

from risk_manager.api.read_model import iso, money
from risk_manager.domain.locks import Lock
from risk_manager.domain.models import Trade
from risk_manager.engine.rules.base import CalendarLike, zone_label
from risk_manager.store.ports import FillStore, LockStore
from risk_manager.types import JSON


class HistoryStore(FillStore, LockStore, Protocol):
    """The store reads the history makes: each account's fills and lock rows."""


@dataclass(slots=True)
class _Day:
    gross: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)
    fills: int = 0
    closing: int = 0


def lock_json(lock: Lock, now: datetime) -> JSON:
    """A lock for the history: when it started and ended, and who ended it. ``ended_by``:
    the admin or ``broker`` who cleared it, or None when its time ran out (``ended_at`` is
    then its ``ends_at``); ``active``: not ended yet."""
    ended_at = lock.cleared_at
    if ended_at is None and lock.ends_at is not None and lock.ends_at <= now:
        ended_at = lock.ends_at
    return {
        "id": lock.id,
        "account_id": lock.account_id,
        "rule": lock.rule,
        "kind": lock.kind.value,
        "reason": lock.reason,
        "created_at": iso(lock.created_at),
        "ends_at": iso(lock.ends_at),
        "ended_at": iso(ended_at),
        "ended_by": lock.cleared_by,
        "clear_reason": lock.clear_reason,
        "active": lock.is_active(now),
    }


def _add(day: _Day, trade: Trade) -> None:
    if trade.voided:  # taken back by the broker: counts nowhere (API doc §8.1)
        return
    day.fills += 1
    day.fees += trade.fees + trade.commissions
    if trade.profit_and_loss is not None:
        day.gross += trade.profit_and_loss
        day.closing += 1


def history_json(
    store: HistoryStore,
    accounts: Mapping[int, str],
    calendar: CalendarLike,
    now: datetime,
    days: int,
) -> JSON:
    """The trading days dated within the last ``days`` days up to today's (newest first; a
    weekend has none) of every account in
    ``accounts`` (id → name): per day and account the realized P&L net of fees, the gross,
    fees, fills (half-turns) and round turns, and the locks made that day; and the ended
    locks of those days, newest first. Money as decimal strings, instants ISO UTC, days
    labelled as the calendar's trading days (RULES.md §1). Blocking (store reads)."""
    today = calendar.trading_day(now)
    since = now - timedelta(days=days + 1)  # a trading day starts at most a day before its date
    first = today - timedelta(days=days - 1)
    per_day: dict[date, dict[int, _Day]] = defaultdict(dict)
    locks_of: dict[date, dict[int, list[JSON]]] = defaultdict(lambda: defaultdict(list))
    ended: list[tuple[datetime, JSON]] = []
    for acct in sorted(accounts):
        for trade in store.fills(acct, since=since):
            day = calendar.trading_day(trade.created_at)
            if day >= first:
                _add(per_day[day].setdefault(acct, _Day()), trade)
        for lock in store.lock_history(acct):  # newest first
            day = calendar.trading_day(lock.created_at)
            if day < first:
                break
            shown = lock_json(lock, now)
            locks_of[day][acct].append(shown)
            per_day[day].setdefault(acct, _Day())
            if not shown["active"]:
                ended.append((lock.created_at, {**shown, "name": accounts[acct]}))
    out_days: list[JSON] = []
    for day in sorted(per_day, reverse=True):
        rows: list[JSON] = []
        for acct, d in sorted(per_day[day].items()):
            rows.append(
                {
                    "id": acct,
                    "name": accounts[acct],
                    "realized": money(d.gross - d.fees),
                    "gross": money(d.gross),
                    "fees": money(d.fees),
                    "fills": d.fills,
                    "round_turns": d.closing,
                    "locks": locks_of[day].get(acct, []),
                }
            )
        out_days.append({"trading_day": day.isoformat(), "today": day == today, "accounts": rows})
    ended.sort(key=lambda item: item[0], reverse=True)
    return {
        "days": out_days,
        "ended_locks": [shown for _, shown in ended],
        "time_zone": calendar.tz.key,
        "time_zone_label": zone_label(calendar.tz, now.astimezone(calendar.tz)),
    }
