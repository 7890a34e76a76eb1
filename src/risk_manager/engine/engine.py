"""The engine: ``process(event, now) → actions``. Pure and synchronous (DESIGN.md, RULES.md §4).

Flow of one event: roll the trading day/week if ``now`` crossed a reset → update the account's
ledger → settle in-flight actions the ledger shows done → run the rules that depend on what
changed (and ``warn_at`` checks) → enforce active locks (RULES.md §2) → drop actions whose cause
is already in flight. Due timers (grace periods, session edges, hub gaps, retries, stale marks)
fire on any event or tick at or after their instant; :meth:`next_wakeup` says when the next one
is due so the runtime can tick then.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from risk_manager.config.rules import RULE_MODELS, RulesConfig
from risk_manager.domain.actions import Alert, AnyAction, LockAccount, PlaceOrder, Severity
from risk_manager.domain.contracts import ContractCatalog
from risk_manager.domain.events import (
    AccountEvent,
    AuthFailureEvent,
    ClockTick,
    ConnectionEvent,
    Event,
    OrderEvent,
    PositionEvent,
    QuoteEvent,
    SnapshotEvent,
    TradeEvent,
)
from risk_manager.domain.locks import Lock, LockKind
from risk_manager.domain.models import Order, Position
from risk_manager.engine.account import STALE_REPEAT, AccountState
from risk_manager.engine.inflight import Key, cause_key
from risk_manager.engine.lock_ledger import LockLedger
from risk_manager.engine.marks import CachingCatalog, Mark
from risk_manager.engine.memory import ENGINE_KEY, dec
from risk_manager.engine.rules import LOSS_LOCK_RULES, AnyRule, Trigger, build_rules
from risk_manager.engine.rules.base import CalendarLike, Context, until_text
from risk_manager.engine.view import (
    AccountView,
    DrawdownView,
    Holdings,
    PositionView,
    Problem,
    RoomToLossLock,
    RuleView,
)

_RULE_IDS = {m.key: m.rule_id for m in RULE_MODELS}
_HOUR = timedelta(hours=1)
_SKEW = timedelta(seconds=30)  # broker timestamps this far ahead still move the day
_CONNECTION_EVENTS = (ConnectionEvent, AuthFailureEvent)  # a tuple: `A | B` is built per call
# Enum members read once: `Trigger.QUOTE` goes through EnumType.__getattr__'s slot on every
# read, and these are read on every event (issue 16).
_TRADE, _POSITION, _ORDER, _ACCOUNT, _QUOTE, _CLOCK, _ALL = (
    Trigger.TRADE,
    Trigger.POSITION,
    Trigger.ORDER,
    Trigger.ACCOUNT,
    Trigger.QUOTE,
    Trigger.CLOCK,
    Trigger.ALL,
)
_BOOK_TRIGGERS = (_ORDER, _POSITION, _ALL)
_ZERO = Decimal(0)  # a Decimal compared with an int converts the int on every call


class Engine:
    def __init__(
        self,
        rules_for: Callable[[int], RulesConfig] | RulesConfig,
        calendar: CalendarLike,
        catalog: ContractCatalog,
    ) -> None:
        self._rules_for = rules_for if callable(rules_for) else (lambda _id: rules_for)
        self.calendar = calendar
        self.catalog = CachingCatalog(catalog)
        self.marks: dict[str, Mark] = {}
        self.lock_ledger = LockLedger()
        self._accounts: dict[int, AccountState] = {}
        self._by_contract: dict[str, tuple[int, ...]] = {}  # sorted account ids
        self._user_down_since: datetime | None = None
        self._now: datetime | None = None
        self._next_reset: datetime | None = None
        self._next_week: datetime | None = None
        # [from, to) known to be one trading day, and its label: set at each roll (issue 16)
        self._day_span: tuple[datetime, datetime, date] | None = None
        self._due: datetime | None = None
        self._overrides: dict[int, RulesConfig] = {}  # rules set live (set_rules)

    # -- public API ---------------------------------------------------------------------------

    def account_ids(self) -> list[int]:
        return sorted(self._accounts)

    def name(self, account_id: int) -> str:
        """The account's name as the broker last gave it ("" before its first snapshot)."""
        state = self._accounts.get(account_id)
        return state.ledger.name if state is not None else ""

    def process(self, event: Event, now: datetime) -> list[AnyAction]:
        """Apply one event and return the actions the rules want, in the order to send them.

        ``event`` is any domain event (account, order, position, trade, quote, connection,
        snapshot, clock tick); ``now`` is the daemon's UTC clock (the engine never reads one).
        A trading-day or week roll due by ``now`` happens first (RULES.md §1). Only the rules
        whose triggers the event touches run (§4 evaluation order); locks they make are applied
        before their actions are returned. Pure and synchronous: no I/O, raises nothing for
        broker data (an unknown account is created, a value it cannot use is "unknown")."""
        self._now = now
        due = self._due  # a timer due by now fires, even if the event moves _due past it
        if (
            self._next_reset is None
            or now >= self._next_reset
            or (self._next_week is not None and now >= self._next_week)
        ):
            self._roll(now)
        out: list[AnyAction]  # each handler returns a new list, extended here
        if isinstance(event, QuoteEvent):
            out = self._on_quote(event, now)
        elif isinstance(event, ClockTick):
            out = []
        elif isinstance(event, _CONNECTION_EVENTS):
            out = self._on_connection(event, now)
        else:
            out = self._on_account_event(event, now)
        after = self._due
        if (
            after is None
            or now >= after
            or (due is not after and (due is None or now >= due))
            or isinstance(event, ClockTick)
        ):
            out.extend(self._on_clock(now))
        return out

    def tick(self, now: datetime) -> list[AnyAction]:
        """Time passing with no event: timers (grace periods, lock ends, session stages,
        re-proposals) due by ``now`` (UTC) fire. Same contract as :meth:`process`."""
        return self.process(ClockTick(now), now)

    def next_wakeup(self) -> datetime | None:
        """The UTC instant the engine next needs :meth:`tick` (the earliest timer of any
        account), or None when nothing is pending; the actor sleeps until then or an event."""
        return self._due

    def action_failed(self, action: AnyAction, now: datetime, detail: str) -> list[AnyAction]:
        """The broker refused ``action``: re-propose now, or escalate after ``max_retries``."""
        state = self._accounts.get(action.account_id)
        if state is None:
            return []
        out = state.inflight.failed(action, now, detail)
        self._refresh_due(now)
        return out

    def locks(self, account_id: int | None = None) -> list[Lock]:
        return self.lock_ledger.all(account_id)

    def restore_locks(self, locks: Iterable[Lock], now: datetime) -> list[AnyAction]:
        """Locks loaded from the store after a restart; those still running are enforced now.
        A restored soft lock takes its baseline from the broker's first snapshot (RULES.md
        §2): the positions the trader already holds are not entries."""
        locks = list(locks)
        self.lock_ledger.restore(locks)
        out: list[AnyAction] = []
        for lock in locks:
            state = self._account(lock.account_id)
            if lock.is_active(now) and lock.kind is LockKind.SOFT:
                state.restore_soft_baseline()
        for account_id in sorted({lock.account_id for lock in locks}):
            out.extend(self._enforce(self._accounts[account_id], now))
        self._refresh_due(now)
        return out

    def memory(self, account_id: int) -> dict[str, dict[str, Any]]:
        """The account's rule memory as JSON-ready data (a copy), to persist next to the
        locks (docs/ENGINE.md "Restarts")."""
        return self._account(account_id).memory.to_json()

    def memory_version(self, account_id: int) -> int:
        """Moves whenever the account's rule memory changes (persist when it moved)."""
        state = self._accounts.get(account_id)
        return 0 if state is None else state.memory.version

    def restore_memory(
        self,
        account_id: int,
        data: Mapping[str, Mapping[str, Any]],
        placed_tags: Iterable[str] = (),
        now: datetime | None = None,
    ) -> None:
        """Rule memory loaded from the store after a restart, before the first event: the
        RULE-016 peak and floor, RULE-012's tag count and best prices, our order tags and the
        warn-once marks carry on where they were. ``placed_tags``: the tags of orders the
        journal says we placed (oldest first), recorded as ours too, so an order placed just
        before a stop that outran the memory write is still ours and its tag never reused.
        ``now``: when neither knows a tag of the account (a new or lost store), tags number
        on from the clock (:meth:`RuleMemory.seed_tags`). Raises ``ValueError`` for
        malformed data."""
        state = self._account(account_id)
        memory = state.memory
        memory.restore(data)
        state.inputs_changed()
        memory.placed(placed_tags)
        if now is not None:
            memory.seed_tags(now)

    def clear_lock(
        self,
        account_id: int,
        which: int | str | None,
        now: datetime,
        by: str,
        reason: str | None = None,
        *,
        at: datetime | None = None,
        only: Callable[[Lock], bool] | None = None,
    ) -> list[Lock]:
        """An admin ends a lock early (by id, every active lock of a rule key, or None: every
        active lock of the account; ``only`` narrows), at ``at`` (default now; later while
        ``admin.unlock_delay`` runs: the lock is held and enforced until then, and the engine
        wakes at that instant to drop it). Returns the locks whose clearing was set."""
        cleared = self.lock_ledger.clear(account_id, which, now, by, reason, at=at, only=only)
        self._refresh_due(now)
        return cleared

    def set_rules(self, account_id: int, config: RulesConfig, now: datetime) -> None:
        """The account's rules from now on (a hot reload, docs/RUNTIME.md "Reload"): the rule
        objects are rebuilt from ``config`` through the factory, between two events (the
        engine is synchronous: no event is evaluated half under the old rules). The ledger,
        the rule memory, the locks and the actions in flight carry on: a lock already made
        stays whatever the new rules say (RULES.md §2)."""
        self._overrides[account_id] = config
        state = self._accounts.get(account_id)
        if state is not None:
            state.use_rules(config, build_rules(config))
            self._refresh_due(now)

    def rules_config(self, account_id: int) -> RulesConfig:
        """The rules the account is evaluated under now."""
        state = self._accounts.get(account_id)
        return state.config if state is not None else self._config_for(account_id)

    def reset_day(
        self, account_id: int, now: datetime, at: datetime, by: str, reason: str
    ) -> list[Lock]:
        """A manual daily reset of one account, effective at ``at`` (``now`` or later while
        ``admin.unlock_delay`` runs): what the trading day's reset does for it (RULES.md §1,
        §2). Every active lock ending by the next regular reset is cleared at ``at``; at
        ``at`` the day's counters (realized P&L, fees, fills, peak) start again, and fills
        made before ``at`` never count in this trading day again, a restart included (the
        instant is kept in the rule memory). Returns the locks whose clearing was set."""
        state = self._account(account_id)
        day = self.calendar.trading_day(at)
        state.memory.update(
            ENGINE_KEY, {"day_reset": {"day": day.isoformat(), "at": at.isoformat()}}
        )
        reset = self.calendar.next_reset(now)
        cleared = self.lock_ledger.clear(
            account_id,
            None,
            now,
            by,
            reason,
            at=at,
            only=lambda lock: lock.ends_at is not None and lock.ends_at <= reset,
        )
        if at <= now:
            self._manual_roll(state, now)
        self._refresh_due(now)
        return cleared

    def in_flight(self, account_id: int) -> frozenset[Key]:
        """Causes (``inflight.cause_key``) of actions proposed and not yet seen done."""
        state = self._accounts.get(account_id)
        return frozenset(state.inflight.items) if state is not None else frozenset()

    def holdings(self, account_id: int, now: datetime) -> Holdings:
        """The account's positions (signed size per contract), balance, ``canTrade`` and
        whether a lock is active at ``now`` (UTC): what :meth:`view` says of them, without
        valuing positions or measuring rules (a view is about 0.1 ms an account with every
        rule on; the runtime asks this of every account for its sweep and hub backoff).
        Reads only."""
        state = self._account(account_id)
        ledger = state.ledger
        positions = {cid: p.signed_size for cid, p in ledger.positions.items()}
        locked = bool(self.lock_ledger.active(account_id, now))
        return Holdings(positions, ledger.balance, ledger.can_trade, locked)

    def book(self, account_id: int) -> tuple[tuple[Position, ...], tuple[Order, ...]]:
        """The account's open positions (by contract id) and the orders the ledger holds (by
        order id), as :meth:`view` lists them, without valuing positions or measuring rules:
        what an enforcement acts on (runtime/enforcer.py ``Book``; a view is ~0.1 ms with
        every rule on, on the breach's path). Reads only."""
        ledger = self._account(account_id).ledger
        positions = tuple(p for _, p in sorted(ledger.positions.items()))
        return positions, tuple(sorted(ledger.orders.values(), key=_order_id))

    def view(self, account_id: int, now: datetime) -> AccountView:
        """What the dashboards show of one account at ``now`` (UTC): P&L (money as Decimal;
        None where a mark is missing, never 0), positions with their marks and sources, every
        enabled rule's value, limit and state, the locks, the room to the nearest loss lock.
        Reads only: calling it changes nothing (docs/ENGINE.md "Public API")."""
        state = self._account(account_id)
        ledger = state.ledger
        ctx = self._context(state, now, None)
        positions = []
        for cid, p in sorted(ledger.positions.items()):
            mark = ctx.mark(cid)
            price = mark.price_for(p.signed_size, state.config.mark) if mark else None
            u = ledger.position_unrealized(p, mark, self.catalog, state.config.mark)
            source = mark.source if mark is not None and price is not None else None
            positions.append(PositionView(p, price, u, source))
        unrealized = ctx.unrealized()
        net = None if unrealized is None else ledger.day_realized() + unrealized
        rules, room = self._rule_views(state, ctx)
        room_left = None if room.unknown else room.left
        active = self.lock_ledger.active(account_id, now)
        return AccountView(
            account_id=account_id,
            name=ledger.name,
            at=now,
            balance=ledger.balance,
            can_trade=ledger.can_trade,
            day_realized=ledger.day_realized(),
            week_realized=ledger.week_realized(),
            unrealized=unrealized,
            net=net,
            day_peak_net=ledger.day_peak_net,
            positions=tuple(positions),
            orders=tuple(sorted(ledger.orders.values(), key=_order_id)),
            rules=tuple(rules),
            locks=tuple(active),
            locked=bool(active),
            room_to_loss_lock=room_left,
            fills_today=ledger.fills_day,
            our_orders=frozenset(o.id for o in ledger.orders.values() if ledger.is_ours(o)),
            drawdown=self._drawdown(state),
            ledger_day=ledger.day_label,
            room_unknown=room.unknown,
            room_rule=None if room.unknown else room.rule,
            room_limit=None if room.unknown else room.limit,
            problems=self._problems(state, positions),
        )

    def _manual_roll(self, state: AccountState, now: datetime) -> None:
        """A manual reset (:meth:`reset_day`) that took effect by ``now`` restarts the day's
        counters, once."""
        manual = _manual_reset(state)
        if manual is None or manual[2] or now < manual[1]:
            return
        if manual[0] == state.ledger.day_label:
            state.ledger.roll_day(manual[0])
        mem = state.memory.get(ENGINE_KEY)["day_reset"]
        state.memory.update(ENGINE_KEY, {"day_reset": {**mem, "applied": True}})
        state.inputs_changed()  # the day's counters restarted

    @staticmethod
    def _problems(state: AccountState, positions: list[PositionView]) -> tuple[Problem, ...]:
        """What is wrong until resolved: enforcement the broker refused or that escalated
        (kept in the in-flight book until the ledger shows it done), and positions valued
        without a live quote (RULES.md §1, §4, §5)."""
        out: list[Problem] = []
        for flight in state.inflight.items.values():
            a = flight.action
            if flight.escalated:
                text = f"{a.rule}: {a.kind} failed after {flight.attempts} attempts"
                if flight.refused:
                    text += f" ({flight.refused})"
                out.append(Problem("escalated", text + "; needs the operator, still retrying"))
            elif flight.refused is not None:
                out.append(Problem("refused", f"{a.rule}: {a.kind} refused: {flight.refused}"))
        for p in positions:
            cid = p.position.contract_id
            if p.mark is None:
                out.append(Problem("stale_mark", f"{cid}: no usable mark; P&L unknown"))
            elif p.mark_source == "rest_bar":
                out.append(Problem("stale_mark", f"{cid}: no live quote; valued at a REST bar"))
        return tuple(out)

    def _drawdown(self, state: AccountState) -> DrawdownView | None:
        if not any(rule.key == "trailing_drawdown" for rule in state.rules):
            return None
        mem = state.memory.get("trailing_drawdown")
        return DrawdownView(
            dec(mem.get("start")),
            mem.get("start_source"),
            dec(mem.get("peak")),
            dec(mem.get("floor")),
        )

    # -- accounts -----------------------------------------------------------------------------

    def _account(self, account_id: int) -> AccountState:
        state = self._accounts.get(account_id)
        if state is None:
            config = self._config_for(account_id)
            state = AccountState(account_id, config, build_rules(config))
            if self._now is not None:
                state.ledger.day_label = self.calendar.trading_day(self._now)
                state.ledger.week_label = self.calendar.week_label(self._now)
            self._accounts[account_id] = state
        return state

    def _config_for(self, account_id: int) -> RulesConfig:
        found = self._overrides.get(account_id)
        return found if found is not None else self._rules_for(account_id)

    def _context(self, state: AccountState, now: datetime, event: Event | None) -> Context:
        """The account's context for ``event`` at ``now``: the one it keeps, renewed (none is
        in use across events: rules keep no reference to it)."""
        locked = self.lock_ledger.active_rules(state.account_id, now)
        ctx = state.context
        if ctx is not None:
            return ctx.renew(now, event, locked, self._user_down_since)
        # Positional, in the fields' order: mypy checks each position's type.
        ctx = state.context = Context(
            now,
            state.account_id,
            state.ledger,
            self.marks,
            self.catalog,
            self.calendar,
            state.mark_mode,
            event,
            locked,
            state.alerted,
            self._user_down_since,
            state.stale_mark,
            state.sessions,
            state.memory,
            state.inflight,
        )
        return ctx

    # -- time ---------------------------------------------------------------------------------

    def _roll(self, now: datetime) -> None:
        day = self.calendar.trading_day(now)
        week = self.calendar.week_label(now)
        for state in self._accounts.values():
            if state.ledger.week_label != week:
                state.ledger.roll_week(week)
            if state.ledger.day_label != day:
                state.ledger.roll_day(day)
                # the balance standing at the reset may raise an end-of-day peak
                self._remember(state, self._context(state, now, None), state.rules)
                # then what no lookup can ask for any more is dropped (memory, not rules)
                state.ledger.forget_tags(state.inflight.tags(), state.memory.tags_placed())
                self._forget_moot(state, now)
        self._next_reset = self.calendar.next_reset(now)
        self._next_week = self.calendar.next_weekly_reset(now)
        self._day_span = (now, self._next_reset, day)

    def _forget_moot(self, state: AccountState, now: datetime) -> None:
        """Drop the once-per-cause keys the account's rules say can never be asked for again
        (``Rule.moot``; the stale-mark alerts are kept apart: ``AccountState.stale_once``)."""
        if not state.alerted:
            return
        ctx = self._context(state, now, None)
        moot = {k for k in state.alerted if any(r.moot(k, ctx) for r in state.rules)}
        state.alerted.difference_update(moot)  # in place: the context holds this set

    def _trading_day(self, at: datetime) -> date:
        """``calendar.trading_day(at)``; from the span of the last roll when ``at`` lies in it.
        A trading day is the date of the first reset after an instant, so it never decreases
        with time: every instant from the roll's ``now`` (whose day is ``day``) up to the
        reset ending that day has the same day. Asked for every fill; the calendar's answer
        costs about as much as a whole quote's rules."""
        span = self._day_span
        if span is not None and span[0] <= at < span[1]:
            return span[2]
        return self.calendar.trading_day(at)

    def _on_clock(self, now: datetime) -> list[AnyAction]:
        out: list[AnyAction] = []
        for account_id in sorted(self._accounts):
            state = self._accounts[account_id]
            self._manual_roll(state, now)
            state.ledger.prune_fills(now)
            out.extend(self._run(state, now, None, _CLOCK))
            out.extend(self._stale_marks(state, now))
            out.extend(self._enforce(state, now))
            state.inflight.settle(state.ledger)
            out.extend(state.inflight.due(now))
        self._refresh_due(now)
        return out

    def _refresh_due(self, now: datetime) -> None:
        times: list[datetime] = []
        for n in (self._next_reset, self._next_week):
            if n is not None:
                times.append(n)
        end = self.lock_ledger.next_end(now)
        if end is not None:
            times.append(end)
        for state in self._accounts.values():
            ctx = self._context(state, now, None)
            for rule in state.rules_for(_CLOCK):
                w = rule.wakeup(ctx)
                if w is not None:
                    times.append(w)
            retry = state.inflight.next_due()
            if retry is not None:
                times.append(retry)
            stale = state.next_stale_check(self.marks, now)
            if stale is not None:
                times.append(stale)
            manual = _manual_reset(state)
            if manual is not None and not manual[2]:
                times.append(manual[1])
        later = [t for t in times if t > now]
        self._due = min(later) if later else None

    def _stale_marks(self, state: AccountState, now: datetime) -> list[AnyAction]:
        """A position without a live quote for ``stale_mark`` is an alert (RULES.md §4),
        repeated every ``STALE_REPEAT`` until a live quote arrives (a REST stand-in, if any,
        is named in it)."""
        out: list[AnyAction] = []
        limit = state.config.stale_mark
        state.forget_stale()
        for cid in sorted(state.ledger.positions):
            since = state.live_since(cid, self.marks)
            if since is None or now - since < limit:
                continue
            round_ = (now - since - limit) // STALE_REPEAT
            if not state.stale_once(cid, since, round_):
                continue
            mark = self.marks.get(cid)
            live = mark.live_at if mark is not None else None
            what = "no quote" if live is None or live < since else f"no quote since {live}"
            stand_in = state.ledger.usable_mark(cid, self.marks, now, limit)
            valued = (
                f"; valued meanwhile at the REST bar close {stand_in.last} read at "
                f"{stand_in.at.isoformat()}"
                if stand_in is not None and stand_in.source == "rest_bar" and stand_in.at
                else "; unrealized P&L unknown"
            )
            waiting = [r.key for r in state.rules if r.values_positions]
            if waiting and stand_in is None:
                valued += f" ({', '.join(waiting)} cannot be evaluated)"
            out.append(
                Alert(
                    at=now,
                    account_id=state.account_id,
                    rule="stale_mark",
                    severity=Severity.WARNING,
                    reason=f"stale_mark: {cid} open with {what} for ≥ "
                    f"{limit.total_seconds():g}s{valued}",
                )
            )
        return out

    def rest_marks_wanted(self, account_id: int, now: datetime) -> list[str]:
        """Contracts of ``account_id``'s open positions that a REST price (the latest bar's
        close) should stand in for now (RULES.md §1); the runtime fetches them and hands each
        in as a ``QuoteEvent`` with ``source="rest_bar"``."""
        state = self._accounts.get(account_id)
        return [] if state is None else state.rest_marks_wanted(self.marks, now)

    # -- events -------------------------------------------------------------------------------

    def _on_quote(self, event: QuoteEvent, now: datetime) -> list[AnyAction]:
        cid = event.quote.contract_id
        mark = self.marks.get(cid)
        if mark is None:
            mark = self.marks[cid] = Mark()
        mark.merge(event.quote, now, event.source)
        out: list[AnyAction] = []
        for account_id in self._by_contract.get(cid, ()):
            state = self._accounts[account_id]
            if cid in state.ledger.positions:  # every quote-driven rule values positions
                out.extend(self._run(state, now, event, _QUOTE, True))
        if out:  # every proposed action gets its retry timer, whatever proposed it (§5)
            self._refresh_due(now)
        return out

    def _on_connection(
        self, event: ConnectionEvent | AuthFailureEvent, now: datetime
    ) -> list[AnyAction]:
        user = event if isinstance(event, ConnectionEvent) and event.hub == "user" else None
        if user is not None and not user.connected and self._user_down_since is None:
            self._user_down_since = now
        if isinstance(event, ConnectionEvent) and event.hub == "market" and not event.connected:
            for mark in self.marks.values():  # quotes no longer followed: no price counts
                mark.void()
        out: list[AnyAction] = []
        for account_id in sorted(self._accounts):  # a reconnect still sees the outage it ends
            out.extend(self._run(self._accounts[account_id], now, event, Trigger.CONNECTION))
        if user is not None and user.connected:
            self._user_down_since = None
        self._refresh_due(now)
        return out

    def _on_account_event(self, event: Event, now: datetime) -> list[AnyAction]:
        out: list[AnyAction] = []
        moved_book = False  # a fill moved the position book ahead of the position event
        opened_new = False  # ... and opened (or reversed) a position: new timers
        plain_order = False  # an order that is not a stop: it moves no timer
        # Each branch also indexes the contracts whose quotes now reach the account.
        if isinstance(event, OrderEvent):  # first: a locked account's refusal (issue 16)
            state = self._account(event.account_id)
            state.ledger.apply_order(event.order)
            self._index_one(state.account_id, event.order.contract_id)
            trigger = _ORDER
            plain_order = not event.order.type.is_stop
        elif isinstance(event, AccountEvent):
            state = self._account(event.account_id)
            out.extend(self._apply_account(state, event, now))
            trigger = _ACCOUNT
        elif isinstance(event, PositionEvent):
            state = self._account(event.account_id)
            state.ledger.apply_position(event.position, now)
            self._index_one(state.account_id, event.position.contract_id)
            trigger = _POSITION
        elif isinstance(event, TradeEvent):
            state = self._account(event.account_id)
            version, opened = state.ledger.book_version, state.ledger.opened_version
            if not self._apply_trade(state, event, now):
                return []
            self._update_peak(state, now)
            trigger = _TRADE
            moved_book = version != state.ledger.book_version
            opened_new = opened != state.ledger.opened_version
            if moved_book:
                self._index_one(state.account_id, event.trade.contract_id)
        elif isinstance(event, SnapshotEvent):
            state = self._account(event.account_id)
            out.extend(self._apply_account(state, AccountEvent(now, event.account), now))
            state.ledger.replace_book(event.positions, event.orders, now)
            state.broker_book_seen()  # a restored soft lock's baseline (RULES.md §2)
            for trade in event.trades:  # already in the snapshot's positions
                self._apply_trade(state, TradeEvent(now, trade), now, to_book=False)
            self._update_peak(state, now)
            for cid in state.ledger.contract_ids():
                self._index_one(state.account_id, cid)
            trigger = _ALL
        else:  # pragma: no cover - every event type is handled above
            raise TypeError(f"unknown event {type(event).__name__}")
        if trigger is not _ACCOUNT and state.inflight.items:  # an account update settles nothing
            state.inflight.settle(state.ledger, _settles(event))
        out.extend(self._run(state, now, event, trigger))
        book_changed = moved_book or trigger in _BOOK_TRIGGERS
        if book_changed:
            out.extend(self._enforce(state, now))
        # Only positions, stop orders and new actions can bring a timer forward (a fill only
        # when it opens a position); any other change leaves _due early or right (an early
        # _due only costs an extra clock pass).
        timers_may_move = opened_new or (trigger in _BOOK_TRIGGERS and not plain_order)
        if timers_may_move or (out and not _tracked_only(out)):
            self._refresh_due(now)
        elif out:  # broker actions alone: their retries are the only new timers
            retry = state.inflight.next_due()
            if retry is not None and retry > now and (self._due is None or retry < self._due):
                self._due = retry
        return out

    def _apply_account(
        self, state: AccountState, event: AccountEvent, now: datetime
    ) -> list[AnyAction]:
        was = state.ledger.can_trade
        state.ledger.apply_account(event.account)
        out: list[AnyAction] = []
        if event.account.can_trade is False and was is not False:
            lock = Lock(
                account_id=state.account_id,
                rule="auth_loss_guard",
                kind=LockKind.EXTERNAL,
                created_at=now,
                ends_at=None,
                reason="auth_loss_guard: broker set canTrade: false; external lock "
                "until the broker allows trading",
            )
            added = self.lock_ledger.add(lock, now)
            if added is not None:
                out.append(
                    LockAccount(
                        at=now,
                        account_id=state.account_id,
                        rule="auth_loss_guard",
                        reason=lock.reason,
                        until=None,
                        lock_kind=LockKind.EXTERNAL,
                    )
                )
                out.append(
                    Alert(
                        at=now,
                        account_id=state.account_id,
                        rule="auth_loss_guard",
                        severity=Severity.CRITICAL,
                        reason=lock.reason,
                    )
                )
        elif event.account.can_trade and was is not True:
            # was None: the first account event; a lock restored after a restart ends too
            ended = self.lock_ledger.end_external(state.account_id, now)
            if ended or was is False:
                out.append(
                    Alert(
                        at=now,
                        account_id=state.account_id,
                        rule="auth_loss_guard",
                        severity=Severity.INFO,
                        reason="auth_loss_guard: broker set canTrade: true; external lock ended",
                    )
                )
        return out

    def _apply_trade(
        self, state: AccountState, event: TradeEvent, now: datetime, to_book: bool = True
    ) -> bool:
        trade = event.trade
        ledger = state.ledger
        at = trade.created_at
        if self._next_reset is not None and self._next_reset <= at <= now + _SKEW:
            self._roll(at)  # the broker's clock is a little ahead of ours at the reset
        in_day = ledger.day_label is None or self._trading_day(at) == ledger.day_label
        manual = _manual_reset(state)
        if in_day and manual is not None and manual[0] == ledger.day_label:
            in_day = not (at < manual[1] <= now)  # made before a manual reset that took effect
        in_week = in_day or self.calendar.week_label(at) == ledger.week_label
        return ledger.apply_trade(
            trade, now, in_day=in_day, in_week=in_week, in_hour=now - at < _HOUR, to_book=to_book
        )

    def _update_peak(self, state: AccountState, now: datetime) -> None:
        state.ledger.raise_peak(
            state.ledger.unrealized(
                self.marks, self.catalog, state.config.mark, now, state.config.stale_mark
            )
        )

    def _index_one(self, account_id: int, cid: str) -> None:
        """Quotes of ``cid`` fan out to this account from now on (kept: cheap and safe)."""
        ids = self._by_contract.get(cid, ())
        if account_id not in ids:
            self._by_contract[cid] = tuple(sorted((*ids, account_id)))

    # -- rules and locks ----------------------------------------------------------------------

    def _run(
        self,
        state: AccountState,
        now: datetime,
        event: Event | None,
        trigger: Trigger,
        peak: bool = False,
    ) -> list[AnyAction]:
        runs = state.runs_for(trigger)
        if not runs and not peak:
            return []
        ctx = self._context(state, now, event)
        if peak:  # the day's peak net P&L moves with prices
            state.ledger.raise_peak_net(ctx.day_net())
        out: list[AnyAction] = []
        memory = state.memory
        due = state.remember_due
        for rule, remembers, warns in runs:
            if remembers or (due and rule.key in due):
                if due:  # mostly empty: no call
                    due.discard(rule.key)
                remembered = rule.remember(ctx)
                if remembered:
                    memory.update(rule.key, remembered)
            proposed = rule.evaluate(ctx)
            if proposed:  # our tags are recorded before the broker's order event can arrive
                memory.placed(a.custom_tag for a in proposed if isinstance(a, PlaceOrder))
            if warns and not proposed:
                proposed = self._warn(state, rule, ctx)
            if proposed:
                out.extend(self._admit(state, proposed, now))
        return out

    @staticmethod
    def _remember(state: AccountState, ctx: Context, rules: Iterable[AnyRule]) -> None:
        """The rules update their memory from the ledger (at a day roll; :meth:`_run` does
        the same before each evaluation, on the events of the rule's ``remembers_on``); the
        only places rule memory changes but for tags and warn marks."""
        for rule in rules:
            remembered = rule.remember(ctx)
            if remembered:
                state.memory.update(rule.key, remembered)

    def _warn(self, state: AccountState, rule: AnyRule, ctx: Context) -> list[AnyAction]:
        if rule.key in ctx.locked_rules:  # past warning: the rule already acted
            return []
        measured = rule.measure(ctx)
        warn_at = rule.warn_at
        if measured is None or warn_at is None:
            return []
        value, limit = measured
        if limit <= _ZERO or value < limit * warn_at or rule.breached(value, limit):
            return []
        label = state.ledger.week_label if rule.period == "week" else state.ledger.day_label
        if state.memory.warned(rule.key, str(label)):  # once per period, across restarts
            return []
        share = value / limit * 100
        return [rule.alert(ctx, f"{value:f} is {share:.0f}% of {limit:f} (warn_at {warn_at:g})")]

    def _admit(
        self, state: AccountState, proposed: list[AnyAction], now: datetime
    ) -> list[AnyAction]:
        out: list[AnyAction] = []
        for action in proposed:
            if isinstance(action, LockAccount):
                lock = Lock(
                    account_id=action.account_id,
                    rule=action.rule,
                    kind=action.lock_kind,
                    reason=action.reason,
                    created_at=now,
                    ends_at=action.until,
                )
                if self.lock_ledger.add(lock, now) is None:
                    continue
                if action.lock_kind is LockKind.SOFT:
                    state.start_soft_baseline()
                out.append(action)
            elif state.inflight.admit(action, state.ledger, now):
                out.append(action)
        return out

    def _enforce(self, state: AccountState, now: datetime) -> list[AnyAction]:
        if not self.lock_ledger.has_any(state.account_id):
            return []
        hard = self.lock_ledger.first_active(state.account_id, now, LockKind.HARD)
        soft = None if hard else self.lock_ledger.first_active(state.account_id, now, LockKind.SOFT)
        if soft is None:
            state.soft_baseline = None
            state.baseline_from_broker = False
        lock = hard or soft
        if lock is None:
            return []
        proposed = state.enforcement(lock, until_text(self.calendar, lock.ends_at), now)
        return self._admit(state, proposed, now)

    def _rule_views(
        self, state: AccountState, ctx: Context
    ) -> tuple[list[RuleView], RoomToLossLock]:
        by_key = {rule.key: rule for rule in state.rules}
        views: list[RuleView] = []
        room = RoomToLossLock()
        for key, rule_id in _RULE_IDS.items():
            rule = by_key.get(key)
            if rule is None:
                views.append(RuleView(key, rule_id, None, None, "off"))
                continue
            measured = rule.measure(ctx)
            value, limit = measured if measured is not None else (None, None)
            state_name: str = "ok"
            missing = None
            if key in ctx.locked_rules:
                state_name = "breached"
            elif (missing := rule.unknown(ctx)) is not None:
                state_name = "unknown"  # fail closed: an input is missing, never "ok"
            elif value is not None and limit is not None:
                if rule.breached(value, limit):
                    state_name = "breached"
                elif rule.warn_at is not None and value >= limit * rule.warn_at:
                    state_name = "warning"
            views.append(RuleView(key, rule_id, value, limit, state_name, missing))  # type: ignore[arg-type]
            if key in LOSS_LOCK_RULES:
                room.add(key, value, limit, missing)
        return views, room


def _order_id(order: Order) -> int:
    return order.id


def _settles(event: Event) -> tuple[object, ...] | None:
    """What in flight ``event`` can have finished, as ``InFlightBook.settle`` takes it: an
    order event its order and tag, a position event its contract's position; None (every
    action) for a fill (its order and position, and a void's), a snapshot or a tick."""
    if isinstance(event, OrderEvent):
        return (("order", event.order.id), ("tag", event.order.custom_tag))
    if isinstance(event, PositionEvent):
        return (("position", event.position.contract_id),)
    return None


def _tracked_only(actions: list[AnyAction]) -> bool:
    """Every action is a broker action the in-flight book tracks (a cancel, a close, an
    order): none is a lock (whose end is a timer) or an alert (which marks a cause seen)."""
    return all(cause_key(a) is not None for a in actions)


def _manual_reset(state: AccountState) -> tuple[date, datetime, bool] | None:
    """The account's manual daily reset (trading day, effective instant, applied), if any."""
    found = state.memory.value(ENGINE_KEY, "day_reset")  # no read-only view: every refresh
    if not isinstance(found, Mapping):
        return None
    return (
        date.fromisoformat(found["day"]),
        datetime.fromisoformat(found["at"]),
        bool(found.get("applied", False)),
    )
