"""Fills the position book shows ahead of the broker's position event.

Live, a fill's trade event comes before its order's Filled status and before the position
event (API doc §8.1). So that rules run on the trade see the position the fill left, the ledger
moves the book by the fill at once (size and direction; a new position takes the fill's price).
The broker's position event is authoritative: it replaces the book and forgets the fills moved
ahead of it.

A fill must move the book once, and not at all when the broker's book already holds it
(RULES.md §4: counted once, whatever the order and the clocks). That is decided by content,
never by comparing the broker's timestamps with ours (they differ by a millisecond or two, and
a −250 loss was once seen as −500). A fill is already in the broker's book when:

- a position event changed the size by more than the fills seen so far explain: that change is
  *owed* to fills still to come, and a later fill in its direction, up to its size, is taken as
  already counted (the owed change lapses after ``OWED_FOR``, on a snapshot and at the reset);
- its order's Filled status was seen before it (that status, then the position, follow the fill);
- it is stamped no later than the last REST snapshot (which replaced every position);
- it closes (has a ``profitAndLoss``) but the book holds nothing on the other side to close, or
  it opens against a position on the other side: the book and the fill disagree, so the broker's
  own event decides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from risk_manager.domain.enums import OrderStatus
from risk_manager.domain.models import Order, Trade

OWED_FOR = timedelta(seconds=10)  # a position change's fills arrive within ms of it (§8.1)


@dataclass(slots=True)
class FillBook:
    ahead: dict[str, dict[int, int]] = field(default_factory=dict)  # cid → trade id → signed
    # cid → (signed change the broker's position events made that no fill has explained yet,
    # when the last such event arrived); our clock only
    owed: dict[str, tuple[int, datetime]] = field(default_factory=dict)
    snapshot_at: datetime | None = None
    filled_orders: set[int] = field(default_factory=set)  # Filled status seen

    def move(self, trade: Trade, signed: int, at: datetime) -> int:
        """The signed change a new fill arriving at ``at`` makes to the book holding
        ``signed`` contracts (0: none, the broker's book already has it)."""
        if trade.voided:
            return 0
        delta = trade.side.sign * trade.size
        if self._explains_owed(trade.contract_id, delta, at):
            return 0
        if trade.order_id in self.filled_orders:
            return 0
        if self.snapshot_at is not None and trade.created_at <= self.snapshot_at:
            return 0
        against = signed != 0 and (signed > 0) != (delta > 0)
        if trade.is_closing != against:
            return 0
        self.ahead.setdefault(trade.contract_id, {})[trade.id] = delta
        return delta

    def _explains_owed(self, contract_id: str, delta: int, at: datetime) -> bool:
        """True when a position event already showed this fill's change (and take it off)."""
        owed = self.owed.get(contract_id)
        if owed is None:
            return False
        change, since = owed
        if at - since > OWED_FOR:
            del self.owed[contract_id]
            return False
        if change == 0 or (change > 0) != (delta > 0) or abs(delta) > abs(change):
            return False
        left = change - delta
        if left:
            self.owed[contract_id] = (left, since)
        else:
            del self.owed[contract_id]
        return True

    def take_back(self, contract_id: str, trade_id: int) -> int:
        """A fill turned voided: the change it made to the book, if still ahead of the broker."""
        return self.ahead.get(contract_id, {}).pop(trade_id, 0)

    def confirmed(self, contract_id: str, change: int, at: datetime) -> None:
        """The broker's position event arrived at ``at``, changing the book (fills moved ahead
        included) by ``change`` contracts, signed: the book is its word from now on, and the
        part of the change no fill explained yet is owed to fills still to come."""
        self.ahead.pop(contract_id, None)
        owed = self.owed.get(contract_id)
        if owed is not None and at - owed[1] <= OWED_FOR:
            change += owed[0]
        if change:
            self.owed[contract_id] = (change, at)
        else:
            self.owed.pop(contract_id, None)

    def snapshot(self, at: datetime) -> None:
        self.ahead.clear()
        self.owed.clear()
        self.snapshot_at = at

    def order_seen(self, order: Order) -> None:
        if order.status is OrderStatus.FILLED:
            self.filled_orders.add(order.id)

    def new_day(self) -> None:
        self.filled_orders.clear()  # bounded; the owed changes and snapshot check still hold
        self.owed.clear()
