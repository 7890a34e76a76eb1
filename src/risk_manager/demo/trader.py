"""The demo's scripted trader: a bot on the ProjectX client that breaks the rules one after
another, narrating each step and what the guard did (read back from the daemon's API).

It moves the market through the simulator's control API (``POST /sim/price``) to make a loss.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import aiohttp

from risk_manager.demo.config import BLOCKED_SYMBOL, LOSS_LIMIT, MAX_CONTRACTS, DemoLimits
from risk_manager.demo.guard import GuardWatcher, Say, is_action
from risk_manager.domain.contracts import ContractCatalog
from risk_manager.domain.enums import OrderSide, OrderType
from risk_manager.projectx.client import ProjectXClient
from risk_manager.types import JSON

CATALOG = ContractCatalog()
STEPS = 5
PAUSE = 12.0  # seconds between steps at speed 1: time to look at the dashboard
PRICE_STEP = Decimal(10)  # points per market move in the loss step
LOSS_DROP = Decimal(140)  # points the market falls in the loss step (2 MNQ: $560)
REACT = 15.0  # seconds (not scaled) the guard gets to act before a step counts as failed


class PositionGone(RuntimeError):
    """The position the trader just opened is not on the account any more."""


@dataclass(slots=True)
class StepResult:
    number: int
    title: str
    enforced: bool


def _ticks(value: Decimal, tick: Decimal) -> Decimal:
    return (value / tick).to_integral_value() * tick


def _until(lock: JSON) -> str:
    """``until 23:00 UTC (3h16m from now)`` for a lock view."""
    ends = lock.get("ends_at")
    if not ends:
        return "until an admin clears it"
    at = datetime.fromisoformat(str(ends).replace("Z", "+00:00"))
    left = max(0, int(lock.get("seconds_left") or 0))
    hours, rest = divmod(left, 3600)
    span = f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"
    return f"until {at:%H:%M:%S} UTC ({span} from now)"


class DemoTrader:
    def __init__(
        self,
        client: ProjectXClient,
        session: aiohttp.ClientSession,
        sim_url: str,
        watcher: GuardWatcher,
        speed: float,
        say: Say,
    ) -> None:
        self.client = client
        self.session = session
        self.sim_url = sim_url.rstrip("/")
        self.guard = watcher
        self.account_id = watcher.account_id
        self.speed = speed
        self.limits = DemoLimits.for_speed(speed)
        self.say = say
        self.results: list[StepResult] = []
        self.contracts: dict[str, str] = {}  # symbol → front-month contract id
        self.last_price = Decimal(0)  # MNQ as last set by the loss step (the walk drifts slowly)

    # -- helpers ----------------------------------------------------------------------------

    async def pause(self, seconds: float = PAUSE) -> None:
        await self.guard.settle(seconds / self.speed)

    async def contract(self, symbol: str) -> str:
        if symbol not in self.contracts:
            found = await self.client.search_contracts(symbol)
            # By the catalog's symbol: the id carries the ProjectX root (NQ trades as ENQ).
            match = [c for c in found if (s := CATALOG.get(c.id)) and s.symbol == symbol]
            if not match:
                raise RuntimeError(f"the simulator lists no {symbol} contract")
            self.contracts[symbol] = match[0].id
        return self.contracts[symbol]

    async def position_size(self, symbol: str) -> int:
        cid = await self.contract(symbol)
        positions = await self.client.search_open_positions(self.account_id)
        return sum(p.signed_size for p in positions if p.contract_id == cid)

    async def entry_price(self, symbol: str) -> Decimal:
        cid = await self.contract(symbol)
        for p in await self.client.search_open_positions(self.account_id):
            if p.contract_id == cid:
                return p.average_price
        raise PositionGone(f"no open {symbol} position (the guard may have closed it already)")

    async def buy(self, symbol: str, size: int, stop_points: Decimal | None = None) -> int | None:
        """Market buy; with ``stop_points``, a sell stop that far below the fill. Returns the
        stop's order id."""
        cid = await self.contract(symbol)
        await self.client.place_order(self.account_id, cid, OrderType.MARKET, OrderSide.BID, size)
        if stop_points is None:
            return None
        try:
            price = await self.entry_price(symbol)
        except PositionGone:
            return None  # the guard closed it before we read it (a blocked symbol): no stop
        stop = _ticks(price - stop_points, CATALOG.by_contract_id(cid).tick_size)
        return await self.client.place_order(
            self.account_id, cid, OrderType.STOP, OrderSide.ASK, size, stop_price=stop
        )

    async def set_price(self, symbol: str, price: Decimal) -> Decimal:
        """Trade the simulated market at ``price`` (rounded to the tick); the price set."""
        cid = await self.contract(symbol)
        price = _ticks(price, CATALOG.by_contract_id(cid).tick_size)
        # The price as an exact JSON number (the control API reads numbers as Decimal).
        body = f'{{"contractId": {json.dumps(cid)}, "price": {price}}}'
        headers = {"Content-Type": "application/json"}
        async with self.session.post(
            f"{self.sim_url}/sim/price", data=body, headers=headers
        ) as resp:
            if resp.status != 200:
                raise RuntimeError(f"the simulator refused price {price}: {await resp.text()}")
        self.last_price = price
        return price

    async def expect(
        self, title: str, after: int, wanted: Callable[[JSON], bool], wait: float = 0.0
    ) -> JSON | None:
        entry = await self.guard.wait_for(after, wanted, wait + REACT)
        if entry is None:
            self.say(f"  !! the guard did not act within {wait + REACT:.0f} s ({title})")
        return entry

    def record(self, number: int, title: str, enforced: bool) -> None:
        self.results.append(StepResult(number, title, enforced))
        mark = "enforced" if enforced else "NOT ENFORCED"
        self.say(f"  result: {title}: {mark}")

    # -- the script ---------------------------------------------------------------------------

    async def run(self) -> list[StepResult]:
        await self.guard.poll()
        for step in (self.too_many, self.no_stop, self.blocked, self.loss_limit, self.locked):
            await step()
        passed = sum(r.enforced for r in self.results)
        self.say(f"script finished: {passed}/{len(self.results)} breaches enforced")
        return self.results

    async def too_many(self) -> None:
        n = 1
        self.say(
            f"step {n}/{STEPS}: buying 4 MNQ with a stop 50 points below — the limit is "
            f"{MAX_CONTRACTS} contracts, so the guard should sell {4 - MAX_CONTRACTS} back at once"
        )
        start = self.guard.last_id()
        stop_id = await self.buy("MNQ", 4, stop_points=Decimal(50))
        entry = await self.expect(
            "max_contracts", start, is_action("max_contracts", "close_position")
        )
        await self.guard.settle(0.5)
        left = await self.position_size("MNQ")
        self.say(f"  position now: {left} MNQ (limit {MAX_CONTRACTS})")
        self.record(n, "too many contracts → reduced", entry is not None and left == MAX_CONTRACTS)
        await self.pause()
        self.say("  the trader closes the rest and cancels the stop")
        await self.client.close_position(self.account_id, await self.contract("MNQ"))
        if stop_id is not None:
            await self.client.cancel_order(self.account_id, stop_id)

    async def no_stop(self) -> None:
        n = 2
        grace = self.limits.grace
        self.say(
            f"step {n}/{STEPS}: buying 1 MNQ without a stop — the guard should close it "
            f"after {grace:g} s"
        )
        start = self.guard.last_id()
        await self.buy("MNQ", 1)
        entry = await self.expect(
            "no_stop_loss_grace", start, is_action("no_stop_loss_grace", "close_position"), grace
        )
        await self.guard.settle(0.5)
        left = await self.position_size("MNQ")
        self.say(f"  position now: {left} MNQ")
        self.record(n, "no stop → position closed", entry is not None and left == 0)
        await self.pause()

    async def blocked(self) -> None:
        n = 3
        self.say(
            f"step {n}/{STEPS}: buying 1 {BLOCKED_SYMBOL} (a blocked symbol) with a stop — "
            "the guard should close the position and cancel the stop"
        )
        start = self.guard.last_id()
        await self.buy(BLOCKED_SYMBOL, 1, stop_points=Decimal(20))
        entry = await self.expect(
            "symbol_blocks", start, is_action("symbol_blocks", "close_position", "flatten")
        )
        await self.guard.settle(1.0)
        left = await self.position_size(BLOCKED_SYMBOL)
        self.say(f"  position now: {left} {BLOCKED_SYMBOL}")
        self.record(n, "blocked symbol → position closed", entry is not None and left == 0)
        await self.pause()

    async def loss_limit(self) -> None:
        n = 4
        loss = 2 * LOSS_DROP * 2  # 2 MNQ × points × $2 a point
        self.say(
            f"step {n}/{STEPS}: buying 2 MNQ with a stop 200 points below, then the market "
            f"falls {LOSS_DROP} points (about ${loss} lost; the daily loss limit is ${LOSS_LIMIT})"
            " — the guard should flatten and lock the account until the daily reset"
        )
        start = self.guard.last_id()
        await self.buy("MNQ", 2, stop_points=Decimal(200))
        price = await self.entry_price("MNQ")
        entry: JSON | None = None
        wanted = is_action("daily_net_loss", "flatten")
        drop = Decimal(0)
        while drop < LOSS_DROP and entry is None:
            drop += PRICE_STEP
            now = await self.set_price("MNQ", price - drop)
            self.say(f"  market: MNQ {now} ({-drop} points)")
            await self.guard.settle(1.0 / self.speed)
            entry = await self.guard.wait_for(start, wanted, 0)
        if entry is None:
            entry = await self.expect("daily_net_loss", start, wanted)
        lock = await self.guard.wait_for(start, is_action("daily_net_loss", "lock"), REACT)
        await self.guard.settle(1.0)
        view = await self.guard.account()
        for active in view.get("locks", []):
            self.say(f"  lock: {active.get('rule')} ({active.get('kind')}) {_until(active)}")
        left = await self.position_size("MNQ")
        ok = entry is not None and lock is not None and bool(view.get("locked")) and left == 0
        self.record(n, "loss limit → flattened and locked", ok)
        await self.pause()

    async def locked(self) -> None:
        n = 5
        self.say(
            f"step {n}/{STEPS}: trading while locked — a buy limit order below the market, "
            "then 1 MNQ at market: the guard should cancel the order and close the position"
        )
        cid = await self.contract("MNQ")
        start = self.guard.last_id()
        if self.last_price <= 100:  # the loss step did not move the market
            await self.set_price("MNQ", Decimal(21000))
        below = _ticks(self.last_price - 20, CATALOG.by_contract_id(cid).tick_size)
        await self.client.place_order(
            self.account_id, cid, OrderType.LIMIT, OrderSide.BID, 1, limit_price=below
        )
        cancelled = await self.expect(
            "cancel while locked", start, lambda row: row.get("kind") == "cancel_order"
        )
        start = self.guard.last_id()
        await self.client.place_order(self.account_id, cid, OrderType.MARKET, OrderSide.BID, 1)
        closed = await self.expect(
            "close while locked",
            start,
            lambda row: row.get("kind") in ("close_position", "flatten"),
        )
        await self.guard.settle(1.0)
        left = await self.position_size("MNQ")
        orders = await self.client.search_open_orders(self.account_id)
        self.say(f"  position now: {left} MNQ; working orders: {len(orders)}")
        ok = cancelled is not None and closed is not None and left == 0 and not orders
        self.record(n, "trading while locked → order cancelled, position closed", ok)
