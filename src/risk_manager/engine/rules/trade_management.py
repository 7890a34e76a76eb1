"""RULE-012 trade_management: our own protective orders, tagged ``rm-…``.

For each open position: a stop (type 4) ``stop_loss_ticks`` behind the average price and a
target (type 1) ``take_profit_ticks`` ahead, sized to the position (a size change places a new
order of the right size, then the stale one is cancelled); the stop moves to breakeven + offset
once the best price since opening reaches ``trigger_ticks``, and trails ``trail_ticks`` behind
the best price once ``activate_ticks`` is reached. A stop is never loosened. Our orders left on a
flat contract are cancelled. Tags are ``rm-<sl|tp>-<account>-<n>``, unique per account: ``n``
counts on from the tags the account's rule memory says were used, across restarts (the gateway
refuses a repeated ``customTag``). The best price since opening is rule memory too
(:meth:`TradeManagementRule.remember`), keyed by the position's opening time, so a trailing
stop does not forget its best price across a restart. Placements in flight (``_pending``) stay
in the rule object on purpose: after a restart the broker's order list (our tags restored
first) says what is working, and a placement lost in between is proposed again under a new tag.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any, ClassVar

from risk_manager.config.rules import TradeManagement
from risk_manager.domain.actions import AnyAction, CancelOrder, ModifyOrder, PlaceOrder
from risk_manager.domain.enums import OrderSide, OrderType, PositionType
from risk_manager.domain.events import OrderEvent, PositionEvent, QuoteEvent
from risk_manager.domain.models import Order, Position
from risk_manager.engine.memory import dec
from risk_manager.engine.rules.base import Context, Rule, Trigger

_LONG = PositionType.LONG  # read on every quote: an Enum member is read through EnumType's slot


def _round(price: Decimal, tick: Decimal, up: bool) -> Decimal:
    """``price`` on the contract's tick grid, rounded up or down (never to nearest): every
    price RULE-012 computes is rounded toward less risk (RULES.md §3), so a stop never ends up
    farther from entry than its ticks and a target never farther than its ticks."""
    return (price / tick).to_integral_value(ROUND_CEILING if up else ROUND_FLOOR) * tick


class TradeManagementRule(Rule[TradeManagement]):
    triggers: ClassVar[Trigger] = Trigger.POSITION | Trigger.ORDER | Trigger.QUOTE

    def __init__(self, config: TradeManagement) -> None:
        super().__init__(config)
        self.cfg = config
        self._n = 0  # the last tag number used in this evaluation (read from memory first)
        starts = [
            *([config.breakeven.trigger_ticks] if config.breakeven else []),
            *([config.trailing.activate_ticks] if config.trailing else []),
        ]
        # the ticks that move a stop, as a Decimal: compared with a Decimal on every quote
        self._activate: Decimal | None = Decimal(min(starts)) if starts else None
        self._gain_needed = bool(starts) and min(starts) > 0  # a price at entry moves none

    def _tag(self, ctx: Context, kind: str) -> str:
        """The next tag never used on the account: not by us (memory), and not by any order
        seen (a trader may type ``rm-`` tags too; the gateway refuses a repeated tag)."""
        while True:
            self._n += 1
            tag = f"rm-{kind}-{ctx.account_id}-{self._n}"
            if tag not in ctx.ledger.tags_seen:
                return tag

    def remember(self, ctx: Context) -> Mapping[str, Any] | None:
        """The best price since each position opened: ``{"best": {contract: [opened_at,
        price]}}`` (ISO instant or None, decimal string). Only kept when a breakeven or
        trailing setting uses it; a flat contract's entry is dropped, a new opening starts
        again from the average price."""
        if self._activate is None:
            return None
        ledger = ctx.ledger
        remembered: Mapping[str, list[Any]] = ctx.memory.value(self.key, "best", {})
        ev = ctx.event
        if isinstance(ev, QuoteEvent):  # most quotes set no new best: nothing to write
            cid = ev.quote.contract_id
            if self._still_best(ctx, cid, remembered.get(cid)):
                return None
            cids = [cid]
        elif not remembered and not ledger.positions:
            return None  # nothing held, nothing remembered (a flat account's order events)
        else:
            cids = sorted(set(remembered) | set(ledger.positions))
        best = dict(remembered)
        changed = False
        for cid in cids:
            p = ledger.positions.get(cid)
            entry = best.get(cid)
            if p is None:
                changed |= best.pop(cid, None) is not None
                continue
            if self._still_best(ctx, cid, entry):  # as on a quote: nothing to write for it
                continue
            since = ledger.opened_label(cid)
            held = dec(entry[1]) if entry is not None and entry[0] == since else None
            mark = ctx.mark(cid)
            last = mark.last if mark is not None else None
            if last is None:
                if entry is not None and held is None:  # an older opening's best
                    del best[cid]
                    changed = True
                continue
            held = p.average_price if held is None else held
            now_best = max(held, last) if p.signed_size > 0 else min(held, last)
            if entry != [since, str(now_best)]:
                best[cid] = [since, str(now_best)]
                changed = True
        return {"best": best} if changed else None

    @staticmethod
    def _still_best(ctx: Context, cid: str, entry: list[Any] | None) -> bool:
        """True when ``entry`` (the remembered ``[opened_at, price]`` of ``cid``) stays as it
        is after this quote: it is the open position's current opening and the mark's last
        price does not beat it. False sends :meth:`remember` the careful way."""
        p = ctx.ledger.positions.get(cid)
        if p is None or entry is None or entry[0] != ctx.ledger.opened_label(cid):
            return False
        mark = ctx.mark(cid)
        last = None if mark is None else mark.last
        held = entry[1]
        if last is None or type(held) is not str:
            return False
        best = dec(held)
        if best is None:  # pragma: no cover - held is text here
            return False
        # a position in the ledger is long or short (a flat one is dropped): its type says
        # which, without the three calls of `signed_size`
        return last <= best if p.type is _LONG else last >= best

    def _best(self, ctx: Context, p: Position) -> Decimal | None:
        """The remembered best price of this opening of ``p`` (None: none yet)."""
        entry = ctx.memory.value(self.key, "best", {}).get(p.contract_id)
        since = ctx.ledger.opened_label(p.contract_id)
        return dec(entry[1]) if entry is not None and entry[0] == since else None

    def _ours(self, ctx: Context, cid: str, kind: OrderType, side: OrderSide) -> list[Order]:
        mine = ctx.ledger.ours.get(cid)
        if not mine:
            return []
        return sorted(
            (o for o in mine.values() if o.type is kind and o.side is side), key=lambda o: o.id
        )

    def evaluate(self, ctx: Context) -> list[AnyAction]:
        ev = ctx.event
        if isinstance(ev, QuoteEvent):  # a price move: only that contract's stop can change
            p = ctx.ledger.positions.get(ev.quote.contract_id)
            if p is None or not self._moves_stop(ctx, p):
                return []  # most quotes: no tag can be needed, so none is counted
            self._n = ctx.memory.tags_placed()
            return self._manage(ctx, p.contract_id, p)
        ledger = ctx.ledger
        if isinstance(ev, OrderEvent):  # only the changed contract needs a look
            cids: list[str] = [ev.order.contract_id]
        elif isinstance(ev, PositionEvent):
            cids = [ev.position.contract_id]
        else:
            cids = sorted(set(ledger.positions) | set(ledger.ours))
        actions: list[AnyAction] = []
        counted = False  # tags are counted once, before the first position that may need one
        for cid in cids:
            p = ledger.positions.get(cid)
            if p is not None:
                if not counted:
                    self._n = ctx.memory.tags_placed()
                    counted = True
                actions.extend(self._manage(ctx, cid, p))
                continue
            mine = ledger.ours.get(cid)
            if mine:
                for order in sorted(mine.values(), key=lambda o: o.id):
                    actions.append(self._cancel(ctx, order, "position is flat"))
        return actions

    def _moves_stop(self, ctx: Context, p: Position) -> bool:
        """True when this quote may move the stop (fast path on quotes): the best price
        (already remembered for it) has reached the ticks that move a stop. Only a quote
        that set the best can, so the quote's own price is measured first: the remembered
        best is read only when that price has reached the ticks (most quotes do not)."""
        if self._activate is None:
            return False
        mark = ctx.mark(p.contract_id)
        last = None if mark is None else mark.last
        if last is None:
            return False
        spec = ctx.catalog.get(p.contract_id)
        if spec is not None:
            avg, long = p.average_price, p.type is _LONG
            if self._gain_needed and (last <= avg if long else last >= avg):
                return False  # no ticks gained at this price: none reached (ticks are > 0)
            moved = (last - avg) / spec.tick_size
            if (moved if long else -moved) < self._activate:
                return False  # so does the best, if it is this price
        return last == self._best(ctx, p)

    def _cancel(self, ctx: Context, order: Order, why: str) -> CancelOrder:
        return self.cancel(ctx, order.id, f"{why}; cancel our order {order.id}")

    def _place(
        self, ctx: Context, p: Position, kind: OrderType, price: Decimal, label: str
    ) -> list[AnyAction]:
        prefix = f"rm-{label}-"  # once, not per placement in flight
        if any(  # in flight: the engine re-proposes it if it never shows up
            a.contract_id == p.contract_id and a.size == p.size and a.custom_tag.startswith(prefix)
            for a in ctx.placing
        ):
            return []
        side = p.exit_side
        action = PlaceOrder(
            at=ctx.now,
            account_id=ctx.account_id,
            rule=self.key,
            reason=(
                f"{self.key}: {p.contract_id} {'long' if p.signed_size > 0 else 'short'} "
                f"{p.size} @ {p.average_price}; place {label} {price}"
            ),
            contract_id=p.contract_id,
            side=side,
            type=kind,
            size=p.size,
            price=price,
            custom_tag=self._tag(ctx, label),
        )
        return [action]

    def _sized(
        self,
        ctx: Context,
        p: Position,
        orders: list[Order],
        kind: OrderType,
        price: Decimal | None,
        label: str,
    ) -> tuple[list[AnyAction], Order | None]:
        """Keep exactly one order of ``kind`` sized to the position."""
        right = [o for o in orders if o.size - o.fill_volume == p.size]
        actions: list[AnyAction] = []
        if right:
            keep = right[0]
            for o in orders:
                if o.id != keep.id:
                    actions.append(self._cancel(ctx, o, f"{label} resized to {p.size}"))
            return actions, keep
        if orders:  # wrong size: place the right one at the old price first
            old = orders[0]
            old_price = old.stop_price if kind is OrderType.STOP else old.limit_price
            price = old_price if old_price is not None else price
        if price is not None:
            actions.extend(self._place(ctx, p, kind, price, label))
        return actions, None

    def _manage(self, ctx: Context, cid: str, p: Position) -> list[AnyAction]:
        spec = ctx.catalog.get(cid)
        if spec is None:
            if ctx.once(self.key, "spec", cid):
                return [self.alert(ctx, f"no contract spec for {cid}; cannot place orders")]
            return []
        tick, sgn, avg = spec.tick_size, (1 if p.signed_size > 0 else -1), p.average_price
        exit_side = p.exit_side
        actions: list[AnyAction] = []
        wanted = self._wanted_stop(p, tick, sgn, self._best(ctx, p))
        stops = self._ours(ctx, cid, OrderType.STOP, exit_side)
        if wanted is not None or stops:
            more, stop = self._sized(ctx, p, stops, OrderType.STOP, wanted, "sl")
            actions.extend(more)
            current = stop.stop_price if stop is not None else None
            if (
                stop is not None
                and wanted is not None
                and current is not None
                and ((wanted - current) * sgn > 0)
            ):
                actions.append(
                    ModifyOrder(
                        at=ctx.now,
                        account_id=ctx.account_id,
                        rule=self.key,
                        reason=f"{self.key}: {cid} tighten stop {current} → {wanted}",
                        order_id=stop.id,
                        price=wanted,
                    )
                )
        if self.cfg.take_profit_ticks is not None:
            target = _round(avg + sgn * self.cfg.take_profit_ticks * tick, tick, up=sgn < 0)
            targets = self._ours(ctx, cid, OrderType.LIMIT, exit_side)
            more, _ = self._sized(ctx, p, targets, OrderType.LIMIT, target, "tp")
            actions.extend(more)
        return actions

    def _wanted_stop(
        self, p: Position, tick: Decimal, sgn: int, best: Decimal | None
    ) -> Decimal | None:
        """The tightest stop price the settings ask for now (None: no stop wanted yet)."""
        avg = p.average_price
        cands: list[Decimal] = []
        if self.cfg.stop_loss_ticks is not None:
            cands.append(_round(avg - sgn * self.cfg.stop_loss_ticks * tick, tick, up=sgn > 0))
        if best is not None:
            moved = (best - avg) * sgn / tick
            be = self.cfg.breakeven
            if be is not None and moved >= be.trigger_ticks:
                cands.append(_round(avg + sgn * be.offset_ticks * tick, tick, up=sgn > 0))
            tr = self.cfg.trailing
            if tr is not None and moved >= tr.activate_ticks:
                cands.append(_round(best - sgn * tr.trail_ticks * tick, tick, up=sgn > 0))
        if not cands:
            return None
        return max(cands) if sgn > 0 else min(cands)
