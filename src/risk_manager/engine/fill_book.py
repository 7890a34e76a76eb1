"""Fills the position book shows ahead of the broker's position event.

Live, a fill's trade event comes before its order's Filled status and before the position
event (API doc §8.1). So that rules run on the trade see the position the fill left, the ledger
moves the book by the fill at once (size and direction; a new position takes the fill's price).
The broker's position event is authoritative: it replaces the book and forgets the fills moved
ahead of it. A fill moves the book once (by trade id) and only when it is not already in the
broker's book, which it is when:

- its order's Filled status was seen before it (that status, then the position, follow the fill);
- it is stamped no later than the arrival of the broker's last position event for its contract,
  or of the last REST snapshot (which replaced every position);
- it closes (has a ``profitAndLoss``) but the book holds nothing on the other side to close, or
  it opens against a position on the other side: the book and the fill disagree, so the broker's
  own event decides.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from risk_manager.domain.enums import OrderStatus
from risk_manager.domain.models import Order, Trade


@dataclass(slots=True)
class FillBook:
    ahead: dict[str, dict[int, int]] = field(default_factory=dict)  # cid → trade id → signed
    as_of: dict[str, datetime] = field(default_factory=dict)  # broker's last position event
    snapshot_at: datetime | None = None
    filled_orders: set[int] = field(default_factory=set)  # Filled status seen

    def move(self, trade: Trade, signed: int) -> int:
        """The signed change a new fill makes to the book holding ``signed`` (0: none)."""
        if trade.voided or trade.order_id in self.filled_orders:
            return 0
        cid = trade.contract_id
        as_of = self.as_of.get(cid)
        for seen in (as_of, self.snapshot_at):
            if seen is not None and trade.created_at <= seen:
                return 0
        delta = trade.side.sign * trade.size
        against = signed != 0 and (signed > 0) != (delta > 0)
        if trade.is_closing != against:
            return 0
        self.ahead.setdefault(cid, {})[trade.id] = delta
        return delta

    def take_back(self, trade: Trade) -> int:
        """A fill turned voided: the change it made to the book, if still ahead of the broker."""
        return self.ahead.get(trade.contract_id, {}).pop(trade.id, 0)

    def confirmed(self, contract_id: str, at: datetime) -> None:
        """The broker's position event: the book is its word, fills ahead are included."""
        self.ahead.pop(contract_id, None)
        self.as_of[contract_id] = at

    def snapshot(self, at: datetime) -> None:
        self.ahead.clear()
        self.as_of.clear()
        self.snapshot_at = at

    def order_seen(self, order: Order) -> None:
        if order.status is OrderStatus.FILLED:
            self.filled_orders.add(order.id)

    def new_day(self) -> None:
        self.filled_orders.clear()  # bounded; the time checks still hold
