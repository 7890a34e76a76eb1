"""What every rule module shares: the context a rule reads and the small helpers it uses.

A rule is pure: ``(context) → actions`` (DESIGN.md style 1). It never reads the clock (``now``
is in the context), never does I/O, and states which kinds of change it depends on so the
engine runs only the rules an event can affect.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Flag, auto
from typing import Any, ClassVar, Generic, Protocol, TypeVar, get_args
from zoneinfo import ZoneInfo

from risk_manager.config.durations import UntilSentinel
from risk_manager.config.rules import RuleConfig
from risk_manager.domain.actions import (
    Alert,
    AnyAction,
    CancelOrder,
    ClosePosition,
    Flatten,
    LockAccount,
    PlaceOrder,
    Severity,
)
from risk_manager.domain.contracts import ContractCatalog
from risk_manager.domain.events import Event
from risk_manager.domain.locks import LockKind
from risk_manager.engine.inflight import InFlightBook
from risk_manager.engine.ledger import Ledger
from risk_manager.engine.marks import Mark
from risk_manager.engine.memory import RuleMemory

ZERO = Decimal(0)
_UNDECIDED = object()  # Context.mark: no decision yet for a contract (None is a decision)


class Trigger(Flag):
    """The kinds of change a rule depends on."""

    TRADE = auto()
    POSITION = auto()
    ORDER = auto()
    ACCOUNT = auto()
    QUOTE = auto()
    CLOCK = auto()  # a due timer (grace, session edge, gap)
    CONNECTION = auto()
    ALL = TRADE | POSITION | ORDER | ACCOUNT | QUOTE | CLOCK | CONNECTION

    # Members (composites included) are singletons compared by identity, so the identity
    # hash agrees with ==; Enum's own hashes the name in Python, and the engine looks its
    # rules up by trigger on every event (issue 16).
    __hash__ = object.__hash__


class SessionLike(Protocol):
    @property
    def start(self) -> datetime: ...
    @property
    def end(self) -> datetime: ...


class CalendarLike(Protocol):
    """The part of :class:`risk_manager.calendar.TradingCalendar` the engine uses."""

    @property
    def tz(self) -> ZoneInfo: ...
    def trading_day(self, at: datetime) -> date: ...
    def next_reset(self, at: datetime) -> datetime: ...
    def week_label(self, at: datetime) -> date: ...
    def next_weekly_reset(self, at: datetime) -> datetime: ...
    def session_at(self, at: datetime) -> Any: ...
    def next_session_start(self, at: datetime) -> datetime: ...


@dataclass(slots=True)
class Context:
    """What a rule may read while it runs for one account."""

    now: datetime
    account_id: int
    ledger: Ledger
    marks: dict[str, Mark]
    catalog: ContractCatalog
    calendar: CalendarLike
    mark_mode: str
    event: Event | None
    locked_rules: frozenset[str]  # rule keys with an active lock on this account
    alerted: set[tuple[str, ...]] = field(default_factory=set)  # once-per-cause memory
    user_hub_down_since: datetime | None = None
    stale_mark: timedelta = timedelta(seconds=10)
    sessions: CalendarLike | None = None  # RULE-009's sessions when it is on (else the default)
    memory: RuleMemory = field(default_factory=RuleMemory)  # read it; the engine writes it
    inflight: InFlightBook | None = None  # the account's actions in flight (read: ``placing``)
    _placing: tuple[PlaceOrder, ...] | None = None
    _unrealized: Decimal | None = None  # set with _per_position
    _net: Decimal | None = None
    _net_known: bool = False
    _per_position: dict[str, Decimal | None] | None = None
    _marks: dict[str, Mark | None] = field(default_factory=dict)
    _no_spec: tuple[str, ...] | None = None

    def renew(
        self,
        now: datetime,
        event: Event | None,
        locked_rules: frozenset[str],
        user_hub_down_since: datetime | None,
    ) -> Context:
        """This context for another event of the same account (the engine keeps one per
        account: building one costs as much as a rule's evaluation, issue 16). What it
        computed for the previous event is forgotten; the account's parts it holds stay.
        Returns itself."""
        self.now = now
        self.event = event
        self.locked_rules = locked_rules
        self.user_hub_down_since = user_hub_down_since
        self._placing = None
        self._per_position = None
        self._net_known = False
        self._no_spec = None
        if self._marks:
            self._marks.clear()
        return self

    def once(self, *key: str) -> bool:
        """True the first time a cause is seen (alerts are sent once per cause)."""
        if key in self.alerted:
            return False
        self.alerted.add(key)
        return True

    @property
    def placing(self) -> tuple[PlaceOrder, ...]:
        """Our placements in flight (proposed, their tag not yet seen on the account), read
        from the in-flight book on first use and kept for the context: only RULE-012 reads
        them, so the events it does not run on never pay for the walk (issue 16)."""
        if self._placing is None:
            book = self.inflight
            self._placing = () if book is None else book.placing(self.ledger)
        return self._placing

    def position_unrealized(self) -> dict[str, Decimal | None]:
        """Each open position's unrealized P&L (None = unknown), computed once per context
        with their total (:meth:`unrealized`), in one pass over the ledger."""
        if self._per_position is None:
            self._per_position, self._unrealized = self.ledger.value_positions(
                self.marks, self.catalog, self.mark_mode, self.now, self.stale_mark, self._marks
            )
        return self._per_position

    def mark(self, contract_id: str) -> Mark | None:
        """The open position's mark if one counts (RULES.md §1), else None: every rule that
        values a position or prices an order reads marks through this, never ``marks``.
        Decided once per contract and context (a quote asks it of a contract several
        times; nothing a rule does changes a mark or when a position was priced from)."""
        found = self._marks.get(contract_id, _UNDECIDED)  # not try/except: a miss is common
        if found is _UNDECIDED:
            found = self._marks[contract_id] = self.ledger.usable_mark(
                contract_id, self.marks, self.now, self.stale_mark
            )
        return found  # type: ignore[return-value]

    def unrealized(self) -> Decimal | None:
        """Total unrealized P&L (None when any position's is unknown), computed once with
        :meth:`position_unrealized`."""
        if self._per_position is None:
            self.position_unrealized()
        return self._unrealized

    def unvalued_for_want_of_spec(self) -> tuple[str, ...]:
        """The open positions that cannot be valued because the catalog has no spec for
        their contract, sorted; decided once per context (each rule that values positions
        asks while a mark is missing: after every size change until the next quote)."""
        if self._no_spec is None:
            per = self.position_unrealized()
            self._no_spec = tuple(
                sorted(cid for cid, u in per.items() if u is None and self.catalog.get(cid) is None)
            )
        return self._no_spec

    def day_net(self) -> Decimal | None:
        """The day's net P&L: realized after costs plus :meth:`unrealized` (None when that
        is unknown), computed once: the day's peak, RULE-003 and its warning read it."""
        if not self._net_known:
            if self._per_position is None:  # self.unrealized(), one call less on a quote
                self.position_unrealized()
            unrealized = self._unrealized
            realized = self.ledger.day_realized_net  # day_realized(), without the call
            self._net = None if unrealized is None else realized + unrealized
            self._net_known = True
        return self._net

    def resolve_until(
        self, duration: timedelta | UntilSentinel, start: datetime
    ) -> datetime | None:
        """A lock duration → its end instant, resolved when the lock is made (RULES.md §2)."""
        if isinstance(duration, timedelta):
            return start + duration
        if duration is UntilSentinel.RESET:
            return self.calendar.next_reset(start)
        if duration is UntilSentinel.WEEK_RESET:
            return self.calendar.next_weekly_reset(start)
        if duration is UntilSentinel.SESSION_START:  # RULE-009's sessions (RULES.md §3)
            return (self.sessions or self.calendar).next_session_start(start)
        return None

    def when(self, at: datetime | None) -> str:
        """How a lock reason says its end (:func:`until_text`)."""
        return until_text(self.calendar, at)


def until_text(calendar: CalendarLike, at: datetime | None) -> str:
    """A lock's end as its reason says it, in the calendar's zone: ``until 2026-03-10 15:10
    CT``, or ``until an admin clears it`` for a lock without an end (RULES.md §2)."""
    if at is None:
        return "until an admin clears it"
    local = at.astimezone(calendar.tz)
    return f"until {local:%Y-%m-%d %H:%M} {zone_label(calendar.tz, local)}"


def zone_label(tz: ZoneInfo, local: datetime) -> str:
    """The zone's label at ``local``, as lock reasons and the dashboards say it: "CT" for
    Chicago (the rule book's), else the zone's abbreviation then (``CET``, ``EST``)."""
    if tz.key == "America/Chicago":
        return "CT"
    return local.tzname() or tz.key


def money(value: Decimal) -> str:
    """``-512.4`` → ``−512.40`` (the rule book's reason style)."""
    text = f"{value.quantize(Decimal('0.01')):.2f}"
    return text.replace("-", "−")


C = TypeVar("C", bound=RuleConfig)

REGISTRY: dict[str, type[AnyRule]] = {}
"""Config key → the rule class that enforces it, filled as each rule module is imported."""


class Rule(Generic[C]):
    """Base of the rule modules. A subclass names its config class as the type argument
    (``class DailyNetLossRule(Rule[DailyNetLoss])``), which registers it under that config's
    ``key``: adding a rule is its module and its config class, nothing else to list. Subclasses
    set ``triggers`` and implement ``evaluate``."""

    config_type: ClassVar[type[RuleConfig] | None] = None
    triggers: ClassVar[Trigger] = Trigger.ALL
    values_positions: ClassVar[bool] = False  # needs marks: re-run when a mark goes stale
    measure_moves_with_clock: ClassVar[bool] = False  # its measure reads now (a time window)
    period: ClassVar[str] = "day"  # warn_at fires once per this period ("day" | "week")
    at_limit_breaches: ClassVar[bool] = True  # False: only a value above the limit (counts)
    # The events after which ``remember`` can return something new: the engine skips it on
    # the others (a rule whose memory reads only balances is not asked on every quote).
    # Whatever the trigger, it is asked at a day roll and on the first run after its inputs
    # changed outside events (rules reloaded, memory restored, a manual reset).
    remembers_on: ClassVar[Trigger] = Trigger.ALL

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for base in getattr(cls, "__orig_bases__", ()):
            args = get_args(base)
            if args and isinstance(args[0], type) and issubclass(args[0], RuleConfig):
                cls.config_type = args[0]
                if args[0].key in REGISTRY:
                    raise TypeError(f"two rule classes for {args[0].key!r}")
                REGISTRY[args[0].key] = cls
                return

    def __init__(self, config: C) -> None:
        self.config: C = config
        self.key = config.key
        self.warn_at = None if config.warn_at is None else Decimal(str(config.warn_at))

    def evaluate(self, ctx: Context) -> list[AnyAction]:
        raise NotImplementedError

    def measure(self, ctx: Context) -> tuple[Decimal, Decimal] | None:
        """(value, limit) in the direction that breaches upward; None when not measurable.
        Reads only: calling it any number of times changes nothing."""
        return None

    def remember(self, ctx: Context) -> Mapping[str, Any] | None:
        """What this rule must remember after the event (new JSON values for its memory,
        ``ctx.memory.get(self.key)``), or None. Called by the engine before ``evaluate``
        when the rule runs on an event of ``remembers_on``; the only way a rule's state
        outlives an event or a restart. Asked again with nothing changed, it must return
        the same values (the engine may skip a call that could change nothing)."""
        return None

    def wakeup(self, ctx: Context) -> datetime | None:
        """The next instant this rule needs a clock tick for, if any."""
        return None

    def moot(self, key: tuple[str, ...], ctx: Context) -> bool:
        """Whether ``key``, a once-per-cause key in ``ctx.alerted``, is one of this rule's that
        can never be asked for again from ``ctx.now`` on: the engine drops those at the day
        roll (kept for good, keys naming an instant grew by a few a day). The default: none."""
        return False

    def unknown(self, ctx: Context) -> str | None:
        """Why the rule cannot be evaluated now (an input it needs is missing), or None.

        A rule that values positions (``values_positions``) cannot while an open position has
        no usable mark (RULES.md §1) or no contract spec; the dashboards then show the rule as
        "unknown" with this reason, never "ok" (RULES.md §4). Reads only."""
        if not self.values_positions:
            return None
        missing = sorted(cid for cid, u in ctx.position_unrealized().items() if u is None)
        if not missing:
            return None
        no_spec = [cid for cid in missing if ctx.catalog.get(cid) is None]
        no_mark = [cid for cid in missing if cid not in no_spec]
        parts = [f"no usable mark for {', '.join(no_mark)}"] if no_mark else []
        if no_spec:
            parts.append(f"no contract spec for {', '.join(no_spec)}")
        return "; ".join(parts)

    def breached(self, value: Decimal, limit: Decimal) -> bool:
        """A measured value past the limit (at it too, unless only counts above it break)."""
        return value > limit or (value == limit and self.at_limit_breaches)

    # -- helpers ------------------------------------------------------------------------------

    def alert(self, ctx: Context, reason: str, severity: Severity = Severity.WARNING) -> Alert:
        return Alert(
            at=ctx.now,
            account_id=ctx.account_id,
            rule=self.key,
            reason=f"{self.key}: {reason}",
            severity=severity,
        )

    def close(
        self,
        ctx: Context,
        contract_id: str,
        what: str,
        size: int | None = None,
        *,
        unless_stop: bool = False,
    ) -> ClosePosition:
        """Close a position (``size``: only that many contracts, leaving the rest as the
        action's ``keep``; None: all of it)."""
        held = ctx.ledger.positions.get(contract_id)
        keep = None if size is None or held is None else max(0, held.size - size)
        return ClosePosition(
            at=ctx.now,
            account_id=ctx.account_id,
            rule=self.key,
            reason=f"{self.key}: {what}",
            contract_id=contract_id,
            size=size,
            keep=keep,
            unless_stop=unless_stop,
        )

    def cancel(self, ctx: Context, order_id: int, what: str) -> CancelOrder:
        return CancelOrder(
            at=ctx.now,
            account_id=ctx.account_id,
            rule=self.key,
            reason=f"{self.key}: {what}",
            order_id=order_id,
        )

    def flatten(self, ctx: Context, what: str) -> Flatten:
        return Flatten(
            at=ctx.now, account_id=ctx.account_id, rule=self.key, reason=f"{self.key}: {what}"
        )

    def flatten_and_lock(
        self,
        ctx: Context,
        what: str,
        duration: timedelta | UntilSentinel,
        *,
        kind: LockKind = LockKind.HARD,
        start: datetime | None = None,
    ) -> list[AnyAction]:
        """Flatten (hard) or just lock (soft), with the rule book's reason format."""
        return self.lock_until(ctx, what, ctx.resolve_until(duration, start or ctx.now), kind)

    def lock_until(
        self, ctx: Context, what: str, until: datetime | None, kind: LockKind = LockKind.HARD
    ) -> list[AnyAction]:
        verb = "flatten" if kind is LockKind.HARD else "entries blocked"
        said = f"{what}; {verb}, locked {ctx.when(until)}"
        reason = f"{self.key}: {said}"
        actions: list[AnyAction] = [
            LockAccount(
                at=ctx.now,
                account_id=ctx.account_id,
                rule=self.key,
                reason=reason,
                until=until,
                lock_kind=kind,
            )
        ]
        if kind is LockKind.HARD:
            actions.append(self.flatten(ctx, said))
        return actions

    def unknown_mark_alert(self, ctx: Context) -> list[AnyAction]:
        """Fail closed: a position that cannot be valued is an alert, never a 0 (RULES.md §4).

        The caller does not act either way. A missing contract spec is alerted here, once per
        rule; a missing or stale mark is alerted once for all rules by the engine's
        ``stale_mark`` alert (after ``stale_mark``, naming the rules that wait for it)."""
        missing = ctx.unvalued_for_want_of_spec()
        if not missing or not ctx.once(self.key, "unknown", *missing):
            return []
        return [
            self.alert(
                ctx,
                f"unrealized P&L unknown (no contract spec for {', '.join(missing)}); "
                "rule cannot be evaluated",
            )
        ]


AnyRule = Rule[Any]
"""A rule of any config: what the engine holds in its lists."""
