"""Periodic reconciliation: a silent user hub can't be told from a calm account by the stream
alone (docs/RUNTIME.md "Silent streams"; RULES.md §5 never fail open).

Every sweep reads ``Account/search`` once (balances and ``canTrade`` of every account) and
``Position/searchOpen`` of each *hot* account (an open position or an active lock), and compares
them with the engine's ledger. *Cold* accounts (flat, unlocked) have their positions read on a
slower cycle. Any difference is taken for missed events, after one confirming read a second
later (the stream may simply be a moment behind): the account gets a full REST snapshot fed to
its engine (rules re-evaluated at once), a warning alert, a count on ``/metrics``, and the user
hub is reconnected. Balances of every account are compared on every cycle (one request for
all), so a fill the stream never delivered shows even on an account whose positions are read
on the slow cycle.

The gateway allows 200 REST requests per 60 s per key, shared by every account and by
enforcement, so the sweep spends at most ``share`` of it (default a third): the intervals grow
with the account count (:func:`intervals`). Its reads wait behind enforcement's and
reconciliation's in the client's limiter (``Priority.SWEEP``).

While the user hub is down and an account is hot, nothing else sees a re-entry under a lock:
the hot cycle then runs as often as the same budget allows (floor ``DOWN_HOT_MIN``, 2.25 s for
one hot account), and a difference counts at once, since no stream can be a moment behind
(docs/RUNTIME.md "Reconnects").
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from risk_manager.domain.models import Account, Position
from risk_manager.projectx.rate_limit import Priority, request_priority
from risk_manager.runtime.reconciler import BrokerReads
from risk_manager.runtime.slices import in_slices
from risk_manager.types import Clock, Sleep

_log = logging.getLogger(__name__)

GATEWAY_BUDGET = 200  # REST requests per 60 s per key (API doc §4)
SHARE = 1 / 3  # of the budget the sweep may spend
HOT_SHARE = 0.8  # of the sweep's share: hot accounts first
HOT_MIN = 5.0  # seconds: the shortest hot cycle
DOWN_HOT_MIN = 1.0  # seconds: the shortest hot cycle while the user hub is down
POLL = 0.5  # seconds: how soon a user hub that went down brings the next sweep forward
COLD_MIN = 5.0  # seconds: the shortest cold cycle (few accounts: as often as hot ones)
CONFIRM_AFTER = 1.0  # seconds: a difference is read again once before it counts


def intervals(
    hot: int, cold: int, *, share: float = SHARE, hot_min: float = HOT_MIN
) -> tuple[float, float]:
    """(hot, cold) sweep intervals in seconds for ``hot`` and ``cold`` accounts, so the sweep
    spends at most ``share`` of the gateway's 200 requests / 60 s: a hot cycle costs one
    ``Account/search`` plus one ``Position/searchOpen`` per hot account, a cold cycle one per
    cold account. 1 / 10 / 50 hot accounts → 5 / 12.4 / 57.4 s; cold: 5 / 45 / 225 s. With
    ``hot_min=DOWN_HOT_MIN`` (user hub down) 1 / 2 / 10 hot accounts → 2.25 / 3.4 / 12.4 s."""
    per_minute = GATEWAY_BUDGET * share
    hot_every = max(hot_min, 60.0 * (1 + hot) / (per_minute * HOT_SHARE))
    cold_every = max(COLD_MIN, 60.0 * cold / (per_minute * (1 - HOT_SHARE)))
    return hot_every, cold_every


@dataclass(frozen=True, slots=True)
class Ledgered:
    """What the engine believes of one account: signed size per contract, balance, canTrade,
    and whether it is hot (a position or an active lock)."""

    positions: Mapping[str, int]
    balance: Decimal | None
    can_trade: bool | None
    hot: bool


def differences(
    seen: Ledgered, account: Account | None, positions: list[Position] | None
) -> list[str]:
    """What the broker shows that the ledger does not (empty: in step). ``positions`` None:
    not read this cycle (a hot-only check of a cold account's balance)."""
    out: list[str] = []
    if account is not None:
        if seen.balance is not None and account.balance != seen.balance:
            out.append(f"balance {seen.balance} → {account.balance}")
        if seen.can_trade is not None and account.can_trade != seen.can_trade:
            out.append(f"canTrade {seen.can_trade} → {account.can_trade}")
    if positions is not None:
        broker = {p.contract_id: p.signed_size for p in positions if p.size > 0}
        if broker != dict(seen.positions):
            out.append(f"positions {dict(seen.positions)} → {broker}")
    return out


class Sweeper:
    """Runs the sweeps for one gateway connection's accounts.

    ``ledger(account_id)`` reads the engine's belief (read-only); ``resync(account_id,
    why)`` takes a full snapshot into the engine, alerts and counts; ``reconnect(why)`` asks
    the user hub to reconnect; ``stream_up()`` tells whether the user hub is connected;
    ``sleep`` is injectable for tests."""

    def __init__(
        self,
        broker: BrokerReads,
        accounts: Callable[[], list[int]],
        ledger: Callable[[int], Ledgered],
        resync: Callable[[int, str], object],
        reconnect: Callable[[str], None],
        clock: Clock,
        *,
        share: float = SHARE,
        stream_up: Callable[[], bool] = lambda: True,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._broker = broker
        self._accounts = accounts
        self._ledger = ledger
        self._resync = resync
        self._reconnect = reconnect
        self._clock = clock
        self._share = share
        self._stream_up = stream_up
        self._sleep = sleep
        self._cold_due = 0.0
        self.sweeps = 0
        # Why the last sweep could not read the broker, and since when (None when it could):
        # a guard that cannot reconcile says so on /health, it does not look healthy.
        self.failing: str | None = None
        self.failing_since: datetime | None = None

    async def run(self) -> None:
        with request_priority(Priority.SWEEP):  # after enforcement and reconciliation
            await self._run()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            started = loop.time()
            hot_every = await self.sweep(cold=loop.time() >= self._cold_due)
            # In slices: a user hub that goes down meanwhile brings the next sweep forward.
            while (left := started + self._interval(hot_every) - loop.time()) > 0:
                await self._sleep(min(left, POLL))

    def _interval(self, hot_every: float) -> float:
        """``hot_every``, or the shorter down interval while the user hub is down and an
        account is hot (the ledger is read only then)."""
        if self._stream_up():
            return hot_every
        ids = self._accounts()
        hot = sum(self._ledger(i).hot for i in ids)
        if not hot:
            return hot_every
        return min(
            hot_every, intervals(hot, len(ids) - hot, share=self._share, hot_min=DOWN_HOT_MIN)[0]
        )

    async def sweep(self, *, cold: bool) -> float:
        """One cycle (cold accounts included when ``cold``); returns the hot interval."""
        down = not self._stream_up()
        ids = self._accounts()
        # Every account read and compared a slice per loop callback: 500 accounts in one
        # callback held the loop 24 ms, and a breach's user-hub event waited behind them
        # (docs/PERFORMANCE.md "Capacity"). Each account's belief is still read whole.
        seen: dict[int, Ledgered] = {}
        async for part in in_slices(ids):
            seen.update((i, self._ledger(i)) for i in part)
        hot = [i for i in ids if seen[i].hot]
        hot_every, cold_every = intervals(len(hot), len(ids) - len(hot), share=self._share)
        to_read = ids if cold else hot
        if cold:
            self._cold_due = asyncio.get_running_loop().time() + cold_every
        try:
            found = await self._read(to_read)
        except Exception as exc:  # the next cycle tries again; enforcement is not affected
            _log.warning(
                "reconciliation sweep: broker read failed (%s); next in %.0fs", exc, hot_every
            )
            self._failed(exc)
            return hot_every
        suspects: set[int] = set()
        async for part in in_slices(ids):
            suspects.update(i for i in part if differences(seen[i], *found(i)))
        if suspects:
            again = found  # a stream that is down cannot be a moment behind: no second read
            if not down:
                await self._sleep(CONFIRM_AFTER)
                try:
                    again = await self._read(sorted(suspects))
                except Exception as exc:
                    _log.warning("reconciliation sweep: confirming read failed (%s)", exc)
                    self._failed(exc)
                    return hot_every
            missed = {}
            for i in sorted(suspects):
                diff = differences(self._ledger(i), *again(i))
                if diff:
                    missed[i] = "; ".join(diff)
            for account_id, why in missed.items():
                self._resync(account_id, why)
            if missed and not down:  # a hub that is down reconnects by itself
                self._reconnect(f"missed events on {len(missed)} account(s)")
        self.sweeps += 1
        self.failing = self.failing_since = None
        return hot_every

    def _failed(self, exc: Exception) -> None:
        self.failing = str(exc) or type(exc).__name__
        if self.failing_since is None:
            self.failing_since = self._clock()

    async def _read(
        self, with_positions: list[int]
    ) -> Callable[[int], tuple[Account | None, list[Position] | None]]:
        accounts = await self._broker.search_accounts(only_active=False)
        by_id = {a.id: a for a in accounts}
        # The reads start a slice per loop callback: 500 tasks made at once ran their first
        # steps (each a request set up) in one loop iteration.
        reads: list[asyncio.Task[list[Position]]] = []
        try:
            async for part in in_slices(with_positions):
                reads.extend(
                    asyncio.ensure_future(self._broker.search_open_positions(i)) for i in part
                )
            positions = await asyncio.gather(*reads)
        except BaseException:
            for task in reads:  # none left reading for a sweep that gave up
                task.cancel()
            raise
        read = dict(zip(with_positions, positions, strict=True))
        return lambda i: (by_id.get(i), read.get(i))
