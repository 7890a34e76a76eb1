"""The simulated exchange: accounts, orders, fills, positions, brackets (API doc §5, §8).

Synchronous and I/O-free; every state change is reported to ``sink`` as hub-shaped events in
the order the live gateway sends them (§8.1, §8.3). The clock is handed in.

Options (all off by default, so tests and the demo trade at any wall-clock time and fill in
full): ``hours`` refuses orders outside the CME session; ``partial_fill_size`` limits how
many contracts limit orders get at their own price per price print;
``signed_bracket_ticks=False`` accepts bracket ticks of either sign.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from decimal import Decimal
from fractions import Fraction
from typing import Any

from risk_manager.domain.contracts import DEFAULT_CATALOG, ContractCatalog
from risk_manager.domain.enums import OrderSide, OrderStatus, OrderType
from risk_manager.domain.error_codes import (
    CancelOrderErrorCode,
    ClosePositionErrorCode,
    ModifyOrderErrorCode,
    PartialClosePositionErrorCode,
    PlaceOrderErrorCode,
)
from risk_manager.sim import depth, wire
from risk_manager.sim.fills import aligned, apply_fill, fill_price, trail_stop_level, trail_ticks
from risk_manager.sim.hours import TradingHours
from risk_manager.sim.market import Markets, display_name
from risk_manager.sim.orders import (
    NOT_ALIGNED,
    PlaceRequest,
    RestResult,
    bracket_children,
    validate_place,
)
from risk_manager.sim.records import (
    DepthEvent,
    MarketTradeEvent,
    SimAccount,
    SimEvent,
    SimOrder,
    SimPosition,
    SimQuoteEvent,
    SimTrade,
    UserEvent,
)
from risk_manager.types import Clock

ORDER_ID_BASE = 3_000_000_000  # above 2^31 on purpose: catches 32-bit id bugs
TRADE_ID_BASE = 2_600_000_000
POSITION_ID_BASE = 700_000_000
ACCOUNT_ID_BASE = 20_000_000
LIMIT_TYPES = frozenset({OrderType.LIMIT, OrderType.JOIN_BID, OrderType.JOIN_ASK})


def _discard(_event: SimEvent) -> None:
    return None


class Exchange:
    def __init__(
        self,
        accounts: Sequence[tuple[str, Decimal]],
        *,
        clock: Clock,
        sink: Callable[[SimEvent], None] = _discard,
        seed: int = 0,
        catalog: ContractCatalog = DEFAULT_CATALOG,
        account_event_copies: int = 2,
        auto_oco: bool = True,
        signed_bracket_ticks: bool = True,
        partial_fill_size: int | None = None,
        hours: TradingHours | None = None,
    ) -> None:
        if partial_fill_size is not None and partial_fill_size <= 0:
            raise ValueError(f"partial_fill_size must be > 0 or None, got {partial_fill_size}")
        self._starting = list(accounts)
        self._clock = clock
        self.sink = sink
        self._seed = seed
        self._catalog = catalog
        self.account_event_copies = account_event_copies
        self.auto_oco = auto_oco
        self.signed_bracket_ticks = signed_bracket_ticks
        self.partial_fill_size = partial_fill_size
        self.hours = hours
        self.reset()

    def reset(self) -> None:
        """Back to the starting accounts, no orders, trades or positions, fresh markets."""
        self.markets = Markets(self._catalog, self._clock, random.Random(self._seed))
        self.accounts: dict[int, SimAccount] = {
            ACCOUNT_ID_BASE + i + 1: SimAccount(ACCOUNT_ID_BASE + i + 1, name, balance)
            for i, (name, balance) in enumerate(self._starting)
        }
        self.orders: dict[int, SimOrder] = {}
        # Indexes so placing and sweeping cost the working orders, not the whole history.
        self._open: dict[str, dict[int, SimOrder]] = {}  # contract -> Open orders
        self._tags: set[tuple[int, str]] = set()  # (account, customTag) ever used
        self.trades: list[SimTrade] = []
        self.positions: dict[tuple[int, str], SimPosition] = {}
        self._next_order = ORDER_ID_BASE
        self._next_trade = TRADE_ID_BASE
        self._next_position = POSITION_ID_BASE

    # ---- queries -------------------------------------------------------------------------

    def open_positions(self, account_id: int) -> list[SimPosition]:
        return [p for p in self.positions.values() if p.account_id == account_id and p.net]

    # ---- events --------------------------------------------------------------------------

    def _user(self, target: str, account_id: int, action: int, data: dict[str, object]) -> None:
        self.sink(UserEvent(target, account_id, action, data))  # wire built it fresh

    def _emit_order(self, order: SimOrder) -> None:
        self._user("GatewayUserOrder", order.account_id, 1, wire.order_model(order, hub=True))

    def _emit_account(self, account: SimAccount, copies: int = 1) -> None:
        for _ in range(copies):  # the live gateway repeats these (API doc §8.1)
            self._user("GatewayUserAccount", account.id, 1, wire.account_model(account))

    def _emit_position(self, position: SimPosition) -> None:
        action = 1 if position.net else 2
        data = wire.position_model(position, hub=True)
        self._user("GatewayUserPosition", position.account_id, action, data)

    # ---- commands ------------------------------------------------------------------------

    def set_can_trade(self, account_id: int, value: bool) -> bool:
        account = self.accounts.get(account_id)
        if account is None:
            return False
        account.can_trade = value
        self._emit_account(account)
        return True

    def place(self, req: PlaceRequest) -> RestResult:
        account = self.accounts.get(req.account_id)
        if account is None:
            return RestResult(PlaceOrderErrorCode.ACCOUNT_NOT_FOUND)
        spec = self.markets.spec(req.contract_id)
        if spec is None:
            return RestResult(PlaceOrderErrorCode.CONTRACT_NOT_FOUND, "Invalid symbol")
        if self.hours is not None and not self.hours.is_open(spec, self._clock()):
            # No order is created; the message is null like the partial close's (§5.15).
            return RestResult(PlaceOrderErrorCode.OUTSIDE_TRADING_HOURS, None)
        last = self.markets.market(req.contract_id).last
        used = req.custom_tag is not None and self._tag_used(req.account_id, req.custom_tag)
        problem = validate_place(
            req, spec.tick_size, last, used, signed_brackets=self.signed_bracket_ticks
        )
        if problem is not None:
            return RestResult(PlaceOrderErrorCode.ORDER_REJECTED, problem)
        kind, side, now = OrderType(req.type), OrderSide(req.side), self._clock()
        market = self.markets.market(req.contract_id)
        order = SimOrder(
            id=self._order_id(),
            account_id=account.id,
            contract_id=req.contract_id,
            symbol_id=spec.symbol_id,
            creation_timestamp=now,
            update_timestamp=now,
            status=OrderStatus.PENDING if kind is OrderType.MARKET else OrderStatus.OPEN,
            type=kind,
            side=side,
            size=req.size,
            limit_price=req.limit_price,
            stop_price=req.stop_price,
            custom_tag=req.custom_tag,
            linked_order_id=req.linked_order_id,
        )
        if kind is OrderType.JOIN_BID:
            order.limit_price = market.bid
        elif kind is OrderType.JOIN_ASK:
            order.limit_price = market.ask
        elif kind is OrderType.TRAILING_STOP:
            assert req.trail_price is not None
            ticks = trail_ticks(market.last, req.trail_price, spec.tick_size)
            order.trail_distance, order.trail_price = ticks, ticks * spec.tick_size
            order.stop_price = market.last + side.sign * ticks * spec.tick_size
        self._add(order)
        children = (
            bracket_children(order, req, spec.tick_size, self._order_id) if self.auto_oco else []
        )
        for child in children:
            self._add(child)
        for child in children[:1]:
            self._emit_order(child)  # live order: SL child, entry, TP child (§8.3)
        self._emit_order(order)
        for child in children[1:]:
            self._emit_order(child)
        has_brackets = req.stop_loss is not None or req.take_profit is not None
        if has_brackets and not self.auto_oco:
            self._finish(order, OrderStatus.REJECTED)
            message = (
                "Brackets cannot be used with Position Brackets. You must enable Auto OCO Brackets."
            )
            return RestResult(PlaceOrderErrorCode.ORDER_REJECTED, message, order.id)
        if not account.can_trade:
            for o in [order, *children]:
                self._finish(o, OrderStatus.REJECTED)
            return RestResult(PlaceOrderErrorCode.ACCOUNT_VIOLATION, None, order.id)
        if kind is OrderType.MARKET:
            self._fill(order, market.ask if side is OrderSide.BID else market.bid)
        self._sweep(req.contract_id)
        return RestResult(PlaceOrderErrorCode.SUCCESS, None, order.id)

    def _tag_used(self, account_id: int, tag: str) -> bool:
        return (account_id, tag) in self._tags

    def _add(self, order: SimOrder) -> None:
        self.orders[order.id] = order
        if order.custom_tag is not None:
            self._tags.add((order.account_id, order.custom_tag))
        self._track(order)

    def _track(self, order: SimOrder) -> None:
        """Keep the Open index in step with ``order.status``."""
        book = self._open.setdefault(order.contract_id, {})
        if order.status is OrderStatus.OPEN:
            book[order.id] = order
        else:
            book.pop(order.id, None)

    def _working(self, contract_id: str) -> list[SimOrder]:
        """Open orders of a contract, oldest first."""
        return sorted(self._open.get(contract_id, {}).values(), key=lambda o: o.id)

    def _order_id(self) -> int:
        self._next_order += 1
        return self._next_order

    def _finish(self, order: SimOrder, status: OrderStatus) -> None:
        order.status = status
        self._track(order)
        order.update_timestamp = self._clock()
        self._emit_order(order)

    def _fill(self, order: SimOrder, price: Decimal, size: int | None = None) -> None:
        """Fill ``size`` contracts of ``order`` (default: all that remain) at ``price``."""
        spec = self.markets.spec(order.contract_id)
        assert spec is not None
        account = self.accounts[order.account_id]
        now = self._clock()
        size = order.size - order.fill_volume if size is None else size
        key = (order.account_id, order.contract_id)
        position = self.positions.get(key)
        net, avg = (position.net, position.average_price) if position else (0, Fraction(0))
        result = apply_fill(net, avg, order.side, size, price, spec)
        self._next_trade += 1
        trade = SimTrade(
            id=self._next_trade,
            account_id=order.account_id,
            contract_id=order.contract_id,
            creation_timestamp=now,
            price=price,
            profit_and_loss=result.pnl,
            fees=spec.fees * size,
            commissions=spec.commissions * size,
            side=order.side,
            size=size,
            order_id=order.id,
        )
        self.trades.append(trade)
        self.markets.market(order.contract_id).volume += size
        account.balance += (result.pnl or 0) - trade.fees - trade.commissions
        self._user("GatewayUserTrade", order.account_id, 0, wire.trade_model(trade, hub=True))
        before = order.fill_volume
        order.fill_volume = before + size
        order.filled_price = (
            price
            if order.filled_price is None
            else ((order.filled_price * before + price * size) / order.fill_volume).normalize()
        )  # the average over this order's fills
        if order.fill_volume < order.size:  # partly filled: the rest keeps working
            order.update_timestamp = now
            self._emit_order(order)
        else:
            self._finish(order, OrderStatus.FILLED)
            self._activate_children(order, price, spec.tick_size)
            if order.oco_sibling_id is not None:
                sibling = self.orders[order.oco_sibling_id]
                if sibling.status.is_working:
                    self._finish(sibling, OrderStatus.CANCELLED)  # one leg fills, the other goes
        if position is None or position.net == 0:
            self._next_position += 1
            display = display_name(spec, order.contract_id)
            position = SimPosition(self._next_position, *key, display, now, 0, Fraction(price))
            self.positions[key] = position
        position.net, position.average_price = result.net, result.average_price
        if result.net == 0:
            self._cancel_orphan_legs(*key)
        self._emit_position(position)
        self._emit_account(account, self.account_event_copies)

    def _activate_children(self, entry: SimOrder, price: Decimal, tick: Decimal) -> None:
        children = [self.orders[i] for i in entry.bracket_children]
        for child in sorted(children, key=lambda c: c.type is not OrderType.LIMIT):  # TP first
            if child.status is not OrderStatus.SUSPENDED:
                continue
            assert child.trail_distance is not None
            level = price + child.trail_distance * tick
            if child.type is OrderType.LIMIT:
                child.limit_price = level
            else:
                child.stop_price = level
            self._finish(child, OrderStatus.OPEN)

    def _cancel_orphan_legs(self, account_id: int, contract_id: str) -> None:
        """A flat position takes its working bracket legs with it."""
        for o in self._working(contract_id):
            if o.account_id == account_id and o.parent_order_id is not None:
                self._finish(o, OrderStatus.CANCELLED)

    def _sweep(self, contract_id: str, *, printed: bool = False) -> None:
        """Ratchet trailing stops and fill every triggered Open order until nothing moves.

        With ``partial_fill_size`` set, limit orders resting exactly at the last price share
        that many contracts per price print (``printed``), oldest order first; a place or a
        modify adds no size there (the order joins the queue at its price).
        """
        market = self.markets.market(contract_id)
        at_touch = self.partial_fill_size  # contracts left at the last price; None = any
        if at_touch is not None and not printed:
            at_touch = 0
        for _ in range(len(self.orders) + 2):  # each fill completes an order or ends at_touch
            working = self._working(contract_id)
            for o in working:
                if o.type is OrderType.TRAILING_STOP:
                    level = trail_stop_level(o, market.last, market.tick_size)
                    if level != o.stop_price:
                        o.stop_price = level
                        o.update_timestamp = self._clock()
                        self._emit_order(o)
            hit: tuple[SimOrder, Decimal, int] | None = None
            for o in working:
                price = fill_price(o, market.last)
                if price is None:
                    continue
                size = o.size - o.fill_volume
                if at_touch is not None and self._limited(o, market.last):
                    if at_touch == 0:
                        continue
                    size = min(size, at_touch)
                    at_touch -= size
                hit = (o, price, size)
                break
            if hit is None:
                return
            self._fill(*hit)

    @staticmethod
    def _limited(order: SimOrder, last: Decimal) -> bool:
        """Does ``order`` fill against limited size? A plain limit priced at ``last`` does.

        Bracket entries and their legs always fill in full: a leg sized to a partly filled
        position is a live behaviour nobody has published.
        """
        plain = order.parent_order_id is None and not order.bracket_children
        return order.type in LIMIT_TYPES and plain and order.limit_price == last

    def cancel(self, account_id: int, order_id: int) -> RestResult:
        if account_id not in self.accounts:
            return RestResult(CancelOrderErrorCode.ACCOUNT_NOT_FOUND)
        order = self.orders.get(order_id)
        if order is None or order.account_id != account_id:
            return RestResult(CancelOrderErrorCode.ORDER_NOT_FOUND)
        if not order.status.is_working:
            return RestResult(CancelOrderErrorCode.UNKNOWN_ERROR)
        self._finish(order, OrderStatus.CANCELLED)
        for child_id in order.bracket_children:
            child = self.orders[child_id]
            if child.status is OrderStatus.SUSPENDED:
                self._finish(child, OrderStatus.CANCELLED)
        return RestResult(CancelOrderErrorCode.SUCCESS)

    def modify(
        self,
        account_id: int,
        order_id: int,
        *,
        size: int | None = None,
        limit_price: Decimal | None = None,
        stop_price: Decimal | None = None,
        trail_price: Decimal | None = None,
    ) -> RestResult:
        """Null fields are left unchanged. Only Open orders can be modified."""
        if account_id not in self.accounts:
            return RestResult(ModifyOrderErrorCode.ACCOUNT_NOT_FOUND)
        order = self.orders.get(order_id)
        if order is None or order.account_id != account_id:
            return RestResult(ModifyOrderErrorCode.ORDER_NOT_FOUND)
        if order.status is not OrderStatus.OPEN:
            return RestResult(ModifyOrderErrorCode.REJECTED)
        market = self.markets.market(order.contract_id)
        tick = market.tick_size
        if size is not None and size <= order.fill_volume:  # at least one contract still to fill
            return RestResult(ModifyOrderErrorCode.REJECTED, f"Invalid order size {size}.")
        for price in (limit_price, stop_price):
            if price is not None and not aligned(price, tick):
                return RestResult(ModifyOrderErrorCode.REJECTED, NOT_ALIGNED)
        if trail_price is not None and not aligned(trail_price, tick):
            msg = "Invalid trail price. Price is not aligned to tick size."
            return RestResult(ModifyOrderErrorCode.REJECTED, msg)
        if size is not None:
            order.size = size
        if limit_price is not None:
            order.limit_price = limit_price
        if stop_price is not None:
            order.stop_price = stop_price
        if trail_price is not None and order.type is OrderType.TRAILING_STOP:
            ticks = trail_ticks(market.last, trail_price, tick)  # no max guard on modify
            order.trail_distance, order.trail_price = ticks, ticks * tick
            order.stop_price = market.last + order.side.sign * ticks * tick
        order.update_timestamp = self._clock()
        self._emit_order(order)
        self._sweep(order.contract_id)
        return RestResult(ModifyOrderErrorCode.SUCCESS)

    def close_position(
        self, account_id: int, contract_id: str, size: int | None = None
    ) -> RestResult:
        """Close (``size`` None) or partially close a position with a market order."""
        partial = size is not None
        codes = PartialClosePositionErrorCode if partial else ClosePositionErrorCode
        if account_id not in self.accounts:
            return RestResult(codes.ACCOUNT_NOT_FOUND)
        if self.markets.spec(contract_id) is None:
            return RestResult(codes.CONTRACT_NOT_FOUND)
        position = self.positions.get((account_id, contract_id))
        if position is None or position.net == 0:
            return RestResult(codes.POSITION_NOT_FOUND)
        if size is not None and not 0 < size <= abs(position.net):
            return RestResult(PartialClosePositionErrorCode.INVALID_CLOSE_SIZE)
        side = OrderSide.ASK if position.net > 0 else OrderSide.BID
        qty = size if size is not None else abs(position.net)
        placed = self.place(PlaceRequest(account_id, contract_id, int(OrderType.MARKET), side, qty))
        if placed.code != PlaceOrderErrorCode.SUCCESS:
            return RestResult(codes.ORDER_REJECTED)  # null, as live (API doc §5.15)
        return RestResult(codes.SUCCESS)

    def set_price(
        self,
        contract_id: str,
        price: Decimal,
        bid: Decimal | None = None,
        ask: Decimal | None = None,
    ) -> None:
        """Trade the market at ``price``: a print, a quote, the depth changes, then every
        triggered fill."""
        market = self.markets.market(contract_id)
        before, book_before = market.last, depth.book(market, self._seed)
        market = self.markets.move(contract_id, price, bid, ask)
        market.volume += 1
        aggressor = 0 if price >= before else 1
        prints = [wire.market_trade_print(market, price, 1, aggressor)]
        self.sink(MarketTradeEvent(contract_id, prints))
        self.sink(SimQuoteEvent(contract_id, wire.quote_model(market)))
        self.sink(DepthEvent(contract_id, depth.updates(book_before, market, self._seed, 1)))
        self._sweep(contract_id, printed=True)

    def depth_snapshot(self, contract_id: str) -> list[dict[str, Any]] | None:
        """The ``GatewayDepth`` entries a new depth subscriber gets (Reset, every level, the
        best bid and ask); None for a contract the catalog does not know."""
        if self.markets.spec(contract_id) is None:
            return None
        return depth.snapshot(self.markets.market(contract_id), self._seed)

    def walk_step(self) -> None:
        """One seeded random-walk step on every front-month contract."""
        for contract_id in self.markets.front.values():
            self.set_price(contract_id, self.markets.walk_target(contract_id))
