"""One account's book: positions, working orders, fills, P&L and fill counts.

Updated incrementally (realized totals are running sums, never re-summed) and correct whatever
order the user-hub events arrive in: fills are keyed by trade id, a repeated fill is ignored and
a fill that turns ``voided`` is taken back out (API doc §8.1, §12 items 9–10).

Of each fill the ledger keeps a :class:`FillRecord` (not the decoded ``Trade``), and only for
the current and the previous trading week: at the week's roll the records of the week before
last are dropped, and a fill stamped no later than the newest dropped one is ignored from then
on (it belongs to a week whose totals are closed, RULES.md §1, §3; a genuinely new fill that
late does not exist in practice, and the broker's position events carry the book anyway).
"""

from __future__ import annotations

import sys
from bisect import bisect_left, bisect_right, insort
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from risk_manager.domain.contracts import ContractCatalog
from risk_manager.domain.enums import OrderSide, PositionType
from risk_manager.domain.models import (
    RM_TAG_PREFIX,
    Account,
    Order,
    Position,
    Trade,
    tag_number,
)
from risk_manager.engine.fill_book import FillBook
from risk_manager.engine.marks import Mark

ZERO = Decimal(0)
HOUR = timedelta(hours=1)
NOT_COUNTED = -1  # a record's day or week generation when it counts in neither


@dataclass(slots=True)
class FillRecord:
    """What the ledger keeps of one fill (trade id): enough to ignore a repeat, and to take a
    void back out of the totals, the order's filled volume, the hour's fill times and the book.

    ``gross`` is the fill's ``profitAndLoss`` (0 on an opening fill), ``costs`` its fees plus
    commissions, in the account's currency. ``day`` and ``week`` are the ledger's day and week
    generations the fill was counted in (:data:`NOT_COUNTED` when not): a roll, manual resets
    included, starts a new generation, so a void after it leaves the new totals alone.
    ``seen_week`` is the week generation the record was made in (dropped two rolls later)."""

    order_id: int
    contract_id: str
    size: int
    created_at: datetime
    gross: Decimal
    costs: Decimal
    day: int
    week: int
    seen_week: int
    voided: bool = False


_Valued = tuple[Position, int, str, Decimal | None, int, Decimal | None]
"""A position's cached valuation: the position record, its mark's ``seq``, the mark mode, the
value, and the two factors that stay while the record does (signed size, point value)."""


@dataclass(slots=True)
class Ledger:
    account_id: int
    name: str = ""
    balance: Decimal | None = None
    can_trade: bool | None = None
    positions: dict[str, Position] = field(default_factory=dict)
    orders: dict[int, Order] = field(default_factory=dict)  # working orders only
    fills: dict[int, FillRecord] = field(default_factory=dict)  # by trade id; see the module
    day_label: date | None = None
    week_label: date | None = None
    day_gross: Decimal = ZERO  # sum of profitAndLoss of the day's fills
    day_costs: Decimal = ZERO  # fees + commissions of the day's fills
    # day_gross − day_costs, kept as they change: every quote reads it (the day's net P&L)
    day_realized_net: Decimal = ZERO
    week_gross: Decimal = ZERO
    week_costs: Decimal = ZERO
    fills_day: int = 0
    fill_times: list[datetime] = field(default_factory=list)  # sorted; about the last hour
    day_peak_net: Decimal = ZERO
    balance_high: Decimal | None = None  # every balance seen (intraday high)
    eod_balance_high: Decimal | None = None  # highest end-of-day balance
    growth_seq: dict[str, int] = field(default_factory=dict)
    opened_at: dict[str, datetime] = field(default_factory=dict)
    _opened_text: dict[str, tuple[datetime, str]] = field(default_factory=dict)
    # From when a price counts as an open position's mark (RULES.md §1): when we saw it open
    # or last change size (our clock, as marks are).
    priced_from: dict[str, datetime] = field(default_factory=dict)
    # From when an open position may be expected to have a quote (the stale-mark clock): the
    # later of when we first saw it open and its creationTimestamp (its quote subscription
    # starts only then). A size change does not restart it.
    mark_wait: dict[str, datetime] = field(default_factory=dict)
    ours: dict[str, dict[int, Order]] = field(default_factory=dict)  # our working, by contract
    # per contract: (position, mark seq, mode, its value, signed size, point value): see
    # position_unrealized
    _valued: dict[str, _Valued] = field(default_factory=dict)
    # customTags of orders seen that start with ``rm-``: the only ones looked up (is a
    # placement of ours on the account; is a tag we would choose taken). The trader's own
    # tags are not kept, so the set grows with our placements, not with every order.
    tags_seen: set[str] = field(default_factory=set)
    # customTags of the orders we placed (RULES.md §1: the record, not the ``rm-`` prefix,
    # makes an order ours); the account's rule memory owns and persists this set.
    our_tags: set[str] = field(default_factory=set)
    _seq: int = 0
    _day_gen: int = 0  # bumped at every day roll (a manual reset included)
    _week_gen: int = 0  # bumped at every week roll
    _forgotten_to: datetime | None = None  # newest fill time of the records dropped
    order_fills: dict[int, int] = field(default_factory=dict)  # volume filled, by order id
    fill_book: FillBook = field(default_factory=FillBook)  # fills ahead of position events
    book_version: int = 0  # bumped whenever positions change
    opened_version: int = 0  # bumped whenever a position opens or reverses (new timers)

    # -- realized -----------------------------------------------------------------------------

    def day_realized(self, include_fees: bool = True) -> Decimal:
        return self.day_realized_net if include_fees else self.day_gross

    def week_realized(self, include_fees: bool = True) -> Decimal:
        return self.week_gross - self.week_costs if include_fees else self.week_gross

    def raise_peak(self, unrealized: Decimal | None) -> None:
        """The day's peak net P&L (realized + unrealized), when the unrealized is known."""
        if unrealized is not None:
            self.raise_peak_net(self.day_realized() + unrealized)

    def raise_peak_net(self, net: Decimal | None) -> None:
        """The day's peak net P&L from a net already summed (None: unknown, no change)."""
        if net is not None and net > self.day_peak_net:
            self.day_peak_net = net

    def fills_since(self, since: datetime) -> int:
        """Fills whose time is after ``since`` (only the last hour is kept)."""
        return len(self.fill_times) - bisect_right(self.fill_times, since)

    # -- updates ------------------------------------------------------------------------------

    def apply_account(self, account: Account) -> None:
        self.name = account.name
        self.balance = account.balance
        self.can_trade = account.can_trade
        if self.balance_high is None or account.balance > self.balance_high:
            self.balance_high = account.balance

    def apply_order(self, order: Order) -> Order | None:
        """Store or drop the order; returns the previous version."""
        old = self.orders.get(order.id)
        self.fill_book.order_seen(order)
        tag = order.custom_tag
        if tag is not None and tag.startswith(RM_TAG_PREFIX):
            self.tags_seen.add(tag)
        # Fills seen count too: the trade event comes before the order's Filled status.
        filled = max(order.fill_volume, self.order_fills.get(order.id, 0))
        working = order.is_working and order.size > filled
        if working:
            self.orders[order.id] = order
        else:
            self._drop_order(order.id, order.contract_id, self.is_ours(order))
            return old
        if self.is_ours(order) or (old is not None and self.is_ours(old)):
            self.ours.setdefault(order.contract_id, {})[order.id] = order
        return old

    def _drop_order(self, order_id: int, contract_id: str, ours: bool) -> None:
        old = self.orders.pop(order_id, None)
        if ours or (old is not None and self.is_ours(old)):
            mine = self.ours.get(contract_id)
            if mine is not None:
                mine.pop(order_id, None)

    def _count_order_fill(self, order_id: int, size: int) -> None:
        """An order whose fills cover its size is done, whatever its last status said
        (``size`` signed: negative takes a voided fill back)."""
        filled = self.order_fills.get(order_id, 0) + size
        self.order_fills[order_id] = filled
        order = self.orders.get(order_id)
        if order is not None and filled >= order.size:
            self._drop_order(order.id, order.contract_id, self.is_ours(order))

    def is_ours(self, order: Order) -> bool:
        """True only for an order we placed and recorded (RULES.md §1); a trader's order
        tagged ``rm-…`` is the trader's."""
        return order.custom_tag is not None and order.custom_tag in self.our_tags

    def apply_position(self, position: Position, at: datetime) -> Position | None:
        """The broker's position event: authoritative, whatever fills moved the book ahead."""
        held = self.positions.get(position.contract_id)
        book = held.signed_size if held is not None else 0
        self.fill_book.confirmed(position.contract_id, position.signed_size - book, at)
        return self._store_position(position, at)

    def _store_position(self, position: Position, at: datetime) -> Position | None:
        """Store or drop the position; returns the previous version."""
        self.book_version += 1
        cid = position.contract_id
        old = self.positions.get(cid)
        if position.is_flat:
            self.positions.pop(cid, None)
            self.opened_at.pop(cid, None)
            self.priced_from.pop(cid, None)
            self.mark_wait.pop(cid, None)
            return old
        if old is None:
            created = position.created_at
            self.mark_wait[cid] = at if created is None or created < at else created
        if old is None or old.signed_size != position.signed_size:
            self.priced_from[cid] = at  # a price seen before this size values it no more
        old_signed = old.signed_size if old is not None else 0
        new_signed = position.signed_size
        if old_signed == 0 or (old_signed > 0) != (new_signed > 0):
            self.opened_at[cid] = position.created_at or at
            self.opened_version += 1
            self._grew(cid)
        elif abs(new_signed) > abs(old_signed):
            self._grew(cid)
        self.positions[cid] = position
        return old

    def _grew(self, contract_id: str) -> None:
        self._seq += 1
        self.growth_seq[contract_id] = self._seq

    def apply_trade(
        self,
        trade: Trade,
        at: datetime,
        *,
        in_day: bool,
        in_week: bool,
        in_hour: bool,
        to_book: bool = True,
    ) -> bool:
        """Count a fill once, and move the position book by it unless the broker's book
        already has it (``to_book=False``: a snapshot's fills are in its positions).
        Returns True when the ledger changed (new fill or a void)."""
        old = self.fills.get(trade.id)
        if old is not None:
            if trade.voided and not old.voided:
                self._void(trade, old, at)
                return True
            return False
        if self._forgotten_to is not None and trade.created_at <= self._forgotten_to:
            return False  # of a week whose records were dropped: its totals are closed
        costs = trade.fees + trade.commissions
        record = FillRecord(
            trade.order_id,
            sys.intern(trade.contract_id),  # one string per contract, not per fill
            trade.size,
            trade.created_at,
            trade.profit_and_loss or ZERO,
            costs if costs else ZERO,
            self._day_gen if in_day and not trade.voided else NOT_COUNTED,
            self._week_gen if in_week and not trade.voided else NOT_COUNTED,
            self._week_gen,
            trade.voided,
        )
        self.fills[trade.id] = record
        if trade.voided:
            return True
        self._count_order_fill(trade.order_id, trade.size)
        if to_book:
            pos = self.positions.get(trade.contract_id)
            signed = pos.signed_size if pos is not None else 0
            self._move_book(trade, self.fill_book.move(trade, signed, at), at)
        self._add(record, 1)
        if in_day:
            self.fills_day += 1
        if in_hour:
            insort(self.fill_times, trade.created_at)  # late arrivals land in place
        return True

    def _void(self, trade: Trade, old: FillRecord, at: datetime) -> None:
        """A fill turned voided (``trade``, its voided version): out of the totals it still
        counts in, the book, the order's filled volume and the hour's fill times."""
        self._add(old, -1)
        if old.day == self._day_gen:
            self.fills_day -= 1
        old.voided = True
        old.day = old.week = NOT_COUNTED
        self._move_book(trade, -self.fill_book.take_back(old.contract_id, trade.id), at)
        i = bisect_left(self.fill_times, old.created_at)
        if i < len(self.fill_times) and self.fill_times[i] == old.created_at:
            del self.fill_times[i]
        self._count_order_fill(old.order_id, -old.size)

    def _move_book(self, trade: Trade, delta: int, at: datetime) -> None:
        """A new position (or the new side of a reversal) takes the fill's price and time; a
        growth averages the fill's price in; a reduction keeps the average. The broker's
        position event then brings its own average, size and id."""
        if delta == 0:
            return
        cid = trade.contract_id
        pos = self.positions.get(cid)
        signed = pos.signed_size if pos is not None else 0
        new = signed + delta
        side = PositionType.LONG if new > 0 else PositionType.SHORT if new < 0 else None
        if pos is None or side is None or (signed > 0) != (new > 0):
            moved = Position(
                0 if pos is None else pos.id,
                self.account_id,
                cid,
                side or PositionType.UNDEFINED,
                abs(new),
                trade.price,
                trade.created_at,
            )
        else:
            avg = pos.average_price
            if abs(new) > abs(signed):
                avg = (avg * abs(signed) + trade.price * abs(delta)) / abs(new)
            moved = Position(pos.id, pos.account_id, cid, pos.type, abs(new), avg, pos.created_at)
        self._store_position(moved, at)

    def _add(self, fill: FillRecord, sign: int) -> None:
        """Add (``sign`` 1) or take out (-1) the fill in the day's and week's totals it
        counts in."""
        if fill.day == self._day_gen:
            self.day_gross += fill.gross * sign
            self.day_costs += fill.costs * sign
            self.day_realized_net = self.day_gross - self.day_costs
        if fill.week == self._week_gen:
            self.week_gross += fill.gross * sign
            self.week_costs += fill.costs * sign

    def prune_fills(self, now: datetime) -> None:
        cut = bisect_right(self.fill_times, now - HOUR)
        if cut:
            del self.fill_times[:cut]

    def roll_day(self, label: date) -> None:
        """A new trading day: day totals restart, the closing balance counts for end-of-day."""
        if self.balance is not None and (
            self.eod_balance_high is None or self.balance > self.eod_balance_high
        ):
            self.eod_balance_high = self.balance
        self.day_label = label
        self.day_gross = ZERO
        self.day_costs = ZERO
        self.day_realized_net = ZERO
        self.fills_day = 0
        self.day_peak_net = ZERO
        self.order_fills.clear()  # bounded: an order's own fillVolume still counts
        self.fill_book.new_day()
        self._day_gen += 1  # the fills seen so far count in no day from now on

    def forget_tags(self, keep: Collection[str], placed: int) -> None:
        """Drop the ``rm-`` tags seen that nothing can look up any more (called at the day
        roll; kept for the service's life they grew by every placement of ours). A tag is
        looked up by an action in flight placing it (``keep``: is it done, is it placing) and
        by RULE-012 choosing its next tag, which only tries numbers above ``placed`` (the
        account's ``RuleMemory.tags_placed``): a tag is kept when in ``keep`` or when its
        number (the part after the last ``-``) is above ``placed``."""
        self.tags_seen = {t for t in self.tags_seen if t in keep or tag_number(t) > placed}

    def roll_week(self, label: date) -> None:
        """A new trading week: week totals restart, and the records of the fills seen in the
        week before last are dropped (a re-sent fill of the week just ended is still known;
        one older is ignored, see the module)."""
        self.week_label = label
        self.week_gross = ZERO
        self.week_costs = ZERO
        self._week_gen += 1
        kept = self._week_gen - 1
        dropped = [tid for tid, f in self.fills.items() if f.seen_week < kept]
        for tid in dropped:
            at = self.fills.pop(tid).created_at
            if self._forgotten_to is None or at > self._forgotten_to:
                self._forgotten_to = at

    def replace_book(
        self, positions: tuple[Position, ...], orders: tuple[Order, ...], at: datetime
    ) -> None:
        """A REST snapshot: positions and working orders are replaced wholesale."""
        self.fill_book.snapshot(at)
        wanted = {p.contract_id for p in positions if not p.is_flat}
        for cid in list(self.positions):
            if cid not in wanted:
                self._store_position(
                    Position(0, self.account_id, cid, PositionType.UNDEFINED, 0, ZERO),
                    at,
                )
        for p in positions:
            self._store_position(p, at)
        self.orders = {}
        self.ours = {}
        for o in orders:
            self.apply_order(o)

    def opened_label(self, contract_id: str) -> str | None:
        """When the open position of ``contract_id`` opened (``opened_at``) as ISO-8601 text,
        None when not known: rule memory keys an opening by it (RULE-012's best price).
        Memoised per contract while ``opened_at`` holds the same instant object, as it is
        read on every quote."""
        at = self.opened_at.get(contract_id)
        if at is None:
            return None
        known = self._opened_text.get(contract_id)
        if known is not None and known[0] is at:
            return known[1]
        text = at.isoformat()
        self._opened_text[contract_id] = (at, text)
        return text

    # -- marks --------------------------------------------------------------------------------

    def position_unrealized(
        self, position: Position, mark: Mark | None, catalog: ContractCatalog, mode: str
    ) -> Decimal | None:
        """``(mark − avg) × size × tickValue / tickSize``, signed; None when unknown.

        Cached per position until its mark or the position changes (a quote moves one)."""
        if mark is None:
            return None
        cached = self._valued.get(position.contract_id)
        if (
            cached is not None
            and cached[0] is position
            and cached[1] == mark.seq
            and (cached[2] == mode)
        ):
            return cached[3]
        return self._value(position, mark, catalog, mode, cached)

    def _value(
        self,
        position: Position,
        mark: Mark,
        catalog: ContractCatalog,
        mode: str,
        cached: _Valued | None,
    ) -> Decimal | None:
        """Value ``position`` at ``mark`` and cache it. Its signed size and point value
        (``tickValue / tickSize``, a division, and three property calls for the size) are
        taken from ``cached`` while it holds the same position record: a quote revalues a
        position whose record has not changed (issue 16)."""
        cid = position.contract_id
        if cached is not None and cached[0] is position:
            signed, point_value = cached[4], cached[5]
        else:
            spec = catalog.get(cid)
            signed = position.signed_size
            point_value = None if spec is None else spec.point_value
        price = mark.price_for(signed, mode)
        value = (
            None
            if price is None or point_value is None
            else (price - position.average_price) * signed * point_value
        )
        self._valued[cid] = (position, mark.seq, mode, value, signed, point_value)
        return value

    def usable_mark(
        self, contract_id: str, marks: dict[str, Mark], now: datetime, stale: timedelta
    ) -> Mark | None:
        """The open position's mark, or None when no price counts (RULES.md §1: it arrived
        after the position or its latest size change existed, and is younger than
        ``stale``). A price remembered from an earlier position is no mark."""
        mark = marks.get(contract_id)
        if mark is None or not mark.usable(self.priced_from.get(contract_id), now, stale):
            return None
        return mark

    def unrealized(
        self,
        marks: dict[str, Mark],
        catalog: ContractCatalog,
        mode: str,
        now: datetime,
        stale: timedelta,
    ) -> Decimal | None:
        """Total unrealized P&L of the open positions; None when any one's is unknown."""
        return self.value_positions(marks, catalog, mode, now, stale, {})[1]

    def value_positions(
        self,
        marks: dict[str, Mark],
        catalog: ContractCatalog,
        mode: str,
        now: datetime,
        stale: timedelta,
        chosen: dict[str, Mark | None],
    ) -> tuple[dict[str, Decimal | None], Decimal | None]:
        """Each open position's unrealized P&L by contract (None = unknown), under the mark
        :meth:`usable_mark` decides, which is also put in ``chosen`` (a context keeps them:
        its rules ask again), and their total (None when any one is unknown; summed from 0
        in the positions' order). :meth:`usable_mark` (``Mark.usable``) and
        :meth:`position_unrealized` are inlined here, as this runs on every quote for every
        position (issue 16)."""
        out: dict[str, Decimal | None] = {}
        total: Decimal | None = ZERO
        valued, priced_from = self._valued, self.priced_from
        cutoff = now - stale  # `now - at >= stale`, one subtraction for all positions
        for cid, p in self.positions.items():
            mark = marks.get(cid)
            if mark is not None:
                at, since = mark.at, priced_from.get(cid)
                if since is None or at is None or at < since or at <= cutoff:
                    mark = None
            chosen[cid] = mark
            if mark is None:
                out[cid] = total = None
                continue
            cached = valued.get(cid)
            if (
                cached is not None
                and cached[0] is p
                and cached[1] == mark.seq
                and cached[2] == mode
            ):
                u = cached[3]
            else:
                u = self._value(p, mark, catalog, mode, cached)
            out[cid] = u
            if u is None:
                total = None
            elif total is not None:
                total += u
        return out, total

    # -- views for rules ----------------------------------------------------------------------

    def trader_orders(self) -> list[Order]:
        """The trader's working orders that enforcement may cancel (never market orders)."""
        return [o for o in self.orders.values() if o.is_cancellable and not self.is_ours(o)]

    def contract_ids(self) -> set[str]:
        return set(self.positions) | {o.contract_id for o in self.orders.values()}

    def would_increase(self, order: Order) -> bool:
        """True when filling the order would open or grow a position (an entry)."""
        pos = self.positions.get(order.contract_id)
        signed = pos.signed_size if pos is not None else 0
        if signed == 0:
            return True
        side_sign = 1 if order.side is OrderSide.BID else -1
        if (signed > 0) == (side_sign > 0):
            return True
        remaining = order.size - order.fill_volume
        return remaining > abs(signed)
