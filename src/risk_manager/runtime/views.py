"""The engine's read views as the API's JSON (docs/API.md): money as decimal strings, instants
as ISO-8601 UTC. The dashboards never see domain objects."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable
from datetime import datetime, tzinfo
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from risk_manager.api.read_model import iso, money
from risk_manager.config.rules import RULE_MODELS, RulesConfig
from risk_manager.domain.contracts import ContractCatalog
from risk_manager.domain.enums import OrderSide, OrderType, PositionType
from risk_manager.domain.locks import Lock
from risk_manager.engine.rules.base import zone_label
from risk_manager.engine.view import AccountView, RuleView
from risk_manager.store.records import JournalEntry, PnlSnapshot
from risk_manager.types import JSON

LOSS_LIMIT_RULES = ("daily_net_loss", "daily_realized_loss")


def _symbol(catalog: ContractCatalog, contract_id: str) -> str:
    spec = catalog.get(contract_id)
    return spec.symbol if spec is not None else contract_id


def _price(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


# Rules measured in dollars, shown as money. Any other unit (contracts, fills, a unit added
# later) is a plain number: a count shown as dollars is the silent mistake to avoid.
MONEY_RULES = frozenset(m.key for m in RULE_MODELS if m.unit == "money")


def _number(value: Decimal | None) -> str | None:
    if value is None:
        return None
    return str(value.quantize(Decimal(1)) if value == value.to_integral() else value.normalize())


def rule_json(rule: RuleView, detail: str) -> JSON:
    """One rule's row of an account's view (docs/API.md ``rules``): value and limit as money
    for a rule measured in dollars (``unit = "money"`` on its config class), as plain numbers
    for any other; ``used`` the share of the limit reached, 0 to 1 (None when unmeasured)."""
    fmt = money if rule.key in MONEY_RULES else _number
    used = None
    if rule.value is not None and rule.limit:
        used = float(min(Decimal(1), max(Decimal(0), rule.value / rule.limit)))
    return {
        "key": rule.key,
        "id": rule.rule_id,
        "state": rule.state,
        "value": fmt(rule.value),
        "limit": fmt(rule.limit),
        "used": used,
        "detail": detail,
        "reason": rule.reason,  # why the state is "unknown"; None otherwise
    }


def _lock(lock: Lock, now: datetime, tz: tzinfo) -> JSON:
    left = None if lock.ends_at is None else max(0.0, (lock.ends_at - now).total_seconds())
    pending = lock.clearing_pending(now)
    return {
        "id": lock.id,
        "rule": lock.rule,
        "kind": lock.kind.value,
        "reason": lock.reason,
        "created_at": iso(lock.created_at),
        "ends_at": iso(lock.ends_at),
        "seconds_left": None if left is None else int(left),
        # A clearing waiting for admin.unlock_delay: the lock holds until then.
        "clearing_at": iso(lock.cleared_at) if pending else None,
        "cleared_by": lock.cleared_by if pending else None,
        "clearing": clearing_text(lock, now, tz) if pending else None,
    }


def clearing_text(lock: Lock, now: datetime, tz: tzinfo) -> str | None:
    """``clearing at 14:35 CDT (in 15 m)`` for a lock whose clearing is pending, else None
    (both dashboards show it beside the lock)."""
    if lock.cleared_at is None or not lock.clearing_pending(now):
        return None
    local = lock.cleared_at.astimezone(tz)
    minutes = math.ceil((lock.cleared_at - now).total_seconds() / 60)
    return f"clearing at {local:%H:%M} {local.tzname()} (in {minutes} m)"


def account_json(
    view: AccountView,
    catalog: ContractCatalog,
    *,
    trading_day: str,
    curve: list[JSON],
    locks: list[Lock] | None = None,
    settings: RulesConfig | None = None,
    pending: list[JSON] | None = None,
    zone: ZoneInfo | None = None,
) -> JSON:
    """``locks``: the active locks with their store ids (the view's own may lack ids).
    ``settings``: the account's rules in force, shown as each rule's detail (an active lock's
    reason takes its place). ``pending``: loosenings waiting for ``admin.loosen_delay``
    (docs/API.md). ``zone``: the trading day's time zone (config ``trading_day.timezone``),
    which the dashboards show every time in, labelled (``time_zone_label``: "CT")."""
    zone = zone or ZoneInfo("America/Chicago")
    active = locks if locks is not None else list(view.locks)
    reasons = {lock.rule: lock.reason for lock in active}

    def detail(key: str) -> str:
        if key in reasons:
            return reasons[key]
        if settings is None:
            return ""
        rule = settings.rule(key)
        return rule.settings_text() if rule.enabled else ""

    rules = {r.key: r for r in view.rules}
    loss_limit = next(
        (rules[k].limit for k in LOSS_LIMIT_RULES if k in rules and rules[k].state != "off"),
        None,
    )
    return {
        "id": view.account_id,
        "name": view.name,
        "balance": money(view.balance),
        "can_trade": view.can_trade,
        "locked": view.locked,
        "trading_day": trading_day,
        "ledger_day": view.ledger_day.isoformat() if view.ledger_day is not None else None,
        "time_zone": zone.key,
        "time_zone_label": zone_label(zone, view.at.astimezone(zone)),
        "problems": [{"kind": p.kind, "text": p.text} for p in view.problems],
        "pnl": {
            "day_realized": money(view.day_realized),
            "week_realized": money(view.week_realized),
            "unrealized": money(view.unrealized),
            "net": money(view.net),
            "day_peak_net": money(view.day_peak_net),
        },
        "pnl_curve": curve,
        "as_of": iso(view.at),
        "loss_limit": money(loss_limit),
        "trailing_drawdown": _drawdown(view),
        # Past the limit the room is none, not negative: the lock says the rest. None with
        # room_unknown set: a loss rule on cannot be evaluated (never 0, never "no limit").
        "room_to_loss_lock": money(
            None if view.room_to_loss_lock is None else max(Decimal(0), view.room_to_loss_lock)
        ),
        "room_unknown": view.room_unknown,
        "room_rule": view.room_rule,
        "room_limit": money(view.room_limit),
        "positions": [
            {
                "contract_id": p.position.contract_id,
                "symbol": _symbol(catalog, p.position.contract_id),
                "side": "long" if p.position.type is PositionType.LONG else "short",
                "size": p.position.size,
                "average_price": _price(p.position.average_price),
                "mark": _price(p.mark),
                "mark_source": p.mark_source,  # "rest_bar": a REST stand-in, not a live quote
                "unrealized": money(p.unrealized),
            }
            for p in view.positions
        ],
        "orders": [
            {
                "id": o.id,
                "contract_id": o.contract_id,
                "symbol": _symbol(catalog, o.contract_id),
                "side": "buy" if o.side is OrderSide.BID else "sell",
                "type": _ORDER_TYPES.get(o.type, "unknown"),
                "size": o.size,
                "price": _price(o.stop_price if o.type.is_stop else o.limit_price),
                "status": o.status.name.lower(),
                "ours": o.id in view.our_orders,
            }
            for o in view.orders
            if o.is_working
        ],
        "rules": [rule_json(r, detail(r.key)) for r in view.rules],
        "locks": [_lock(lock, view.at, zone) for lock in active],
        "pending_loosenings": pending or [],
    }


def _drawdown(view: AccountView) -> JSON | None:
    """RULE-016's starting balance, peak and floor for this account (None: rule off)."""
    dd = view.drawdown
    if dd is None:
        return None
    return {
        "starting_balance": money(dd.starting_balance),
        "start_source": dd.start_source,
        "peak": money(dd.peak),
        "floor": money(dd.floor),
    }


_ORDER_TYPES = {
    OrderType.LIMIT: "limit",
    OrderType.MARKET: "market",
    OrderType.STOP_LIMIT: "stop_limit",
    OrderType.STOP: "stop",
    OrderType.TRAILING_STOP: "trailing_stop",
    OrderType.JOIN_BID: "join_bid",
    OrderType.JOIN_ASK: "join_ask",
}


def enforcement_json(entry: JournalEntry) -> JSON:
    reason: Any = entry.intent.get("reason", "")
    return {
        "id": entry.id,
        "at": iso(entry.created_at),
        "account_id": entry.account_id,
        "rule": entry.rule,
        "kind": entry.kind,
        "reason": reason,
        "outcome": entry.outcome.value if entry.outcome is not None else "pending",
        "detail": entry.outcome_detail,
    }


class PnlCurve:
    """The trading day's net P&L points for the chart: at most one per ``every`` seconds (the
    latest value inside a step replaces the step's point), oldest first, at most ``size``:
    when full, every other point of the older half goes (the morning thins out, the day stays
    whole). Fed from the stored snapshots (runtime/pnl_snapshots.py) and the live views in time
    order: a point older than the last one kept is ignored (a snapshot the live view passed).

    ``size`` is what a chart draws (docs/API.md: a few hundred points): the web chart is ~530
    pixels wide, the terminal's sparkline 60 characters. ``revision`` changes when a point is
    added or dropped, not when the step's latest value replaces its point: the dashboards are
    sent the curve again only then (docs/API.md "Stream"), and draw the account's live net
    after it."""

    def __init__(self, every: float = 5.0, size: int = 500) -> None:
        self._every = every
        self._size = size
        self._points: deque[JSON] = deque()
        self._last: datetime | None = None  # the instant the last step began
        self._latest: datetime | None = None  # the instant of the last point kept
        self._day: str | None = None
        self.stored_after = 0  # the highest stored snapshot id of its day already fed in
        self.revision = 0
        self._shown: tuple[int, list[JSON]] = (-1, [])  # (revision, its points)

    def add(self, at: datetime, net: Decimal | None, trading_day: str) -> None:
        """One point (``net`` None: unknown, no point); a new ``trading_day`` starts over."""
        if trading_day != self._day:
            self._points.clear()
            self._day = trading_day
            self._last = self._latest = None
            self.stored_after = 0
            self.revision += 1
        if net is None or (self._latest is not None and at < self._latest):
            return
        point = {"at": iso(at), "net": money(net)}
        self._latest = at
        if self._last is not None and (at - self._last).total_seconds() < self._every:
            self._points[-1] = point  # keep the latest value inside the sampling step
            return
        if len(self._points) >= self._size:
            old = list(self._points)
            half = len(old) // 2
            self._points = deque(old[:half:2] + old[half:])
        self._points.append(point)
        self._last = at
        self.revision += 1

    def add_stored(self, snapshots: Iterable[PnlSnapshot], trading_day: str) -> None:
        """Stored snapshots of ``trading_day`` (oldest first), remembering the highest id fed
        so the next read asks only for newer ones."""
        for snap in snapshots:
            self.add(snap.taken_at, snap.net, trading_day)
            if snap.id is not None and snap.id > self.stored_after:
                self.stored_after = snap.id

    def after_for(self, trading_day: str) -> int:
        """The snapshot id to read ``trading_day``'s stored snapshots after (0: the whole day:
        a new curve, a restart, a new day)."""
        return self.stored_after if trading_day == self._day else 0

    def points(self) -> list[JSON]:
        """The points as of this ``revision``, oldest first: ``{"at": ISO UTC, "net": money}``.
        One list per revision, shared by the views built meanwhile (treat it as read-only):
        a view published five times a second copies nothing. Within a step the last point
        is the value it had at the revision (the live net is the view's ``pnl.net``)."""
        if self._shown[0] != self.revision:
            self._shown = (self.revision, list(self._points))
        return self._shown[1]
