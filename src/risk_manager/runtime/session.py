"""One gateway connection and the accounts it carries (DESIGN.md "Where state lives").

A ``BrokerSession`` owns its client (token, REST budget), its two hubs, its reconciliation
(the reconcile queue and the sweeper), its health (hubs up, the last event, why it cannot log
in) and the actors of the accounts its API key guards. Several connections (a second API key)
are several sessions: a hub that drops marks only its own accounts, and its reconciliation
spends only its own key's REST budget (API doc §4).

Hub frames are read inline in the hub's receive loop: mapped and enqueued only (API doc §7;
DESIGN.md "pysignalr": callbacks only enqueue). A quote goes to the accounts holding its
contract through the contract → accounts index (runtime/quote_routes.py), at most a slice of
them per loop callback (runtime/quote_fanout.py); a user event to its account's actor, at once.
After every user-hub (re)connect each account is reconciled from REST, then
told the stream is back (RULE-010's order).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from types import TracebackType
from typing import Any, Self

from risk_manager.calendar import TradingCalendar
from risk_manager.config.models import Config
from risk_manager.domain.errors import AuthenticationFailed, BrokerRefused, RetryLater
from risk_manager.domain.events import ConnectionEvent, QuoteEvent, SnapshotEvent
from risk_manager.domain.models import Account
from risk_manager.projectx.backoff import backoff_delay
from risk_manager.projectx.bars import latest_bar_close
from risk_manager.projectx.client import ProjectXClient
from risk_manager.projectx.hub_connection import HubMessage
from risk_manager.projectx.hubs import HubFactory, MarketHub, UserHub
from risk_manager.projectx.mapping import MARKET_TARGETS, USER_TARGETS, decode_market, decode_user
from risk_manager.projectx.rate_limit import Priority, request_priority
from risk_manager.projectx.wire_faults import WireFaults
from risk_manager.projectx.wire_values import WireError
from risk_manager.runtime.actor import AccountActor
from risk_manager.runtime.metrics import Metrics
from risk_manager.runtime.quote_fanout import QuoteFanout
from risk_manager.runtime.quote_routes import QuoteRoutes
from risk_manager.runtime.reconcile_queue import ReconcileQueue, Result
from risk_manager.runtime.reconciler import Snapshots, snapshots
from risk_manager.runtime.slices import in_slices
from risk_manager.runtime.sweep import Ledgered, Sweeper
from risk_manager.runtime.tasks import NamedTasks
from risk_manager.store.ports import FillStore
from risk_manager.types import Clock

_log = logging.getLogger(__name__)

ACCOUNTS_RETRY_CAP = 10.0  # seconds between login/account searches at most while not guarding
UNREADABLE_ALERT_EVERY = timedelta(minutes=10)  # per account, for unreadable hub records
HOUSEKEEPING_EVERY = 1.0  # seconds between overflow reconciles and gauge refreshes
SUBSCRIPTIONS_SETTLE = 0.02  # seconds the market hub's subscriptions wait after a change
USER_HUB_FIRST = 5.0  # seconds the start waits for the user hub before reconciling anyway


class BrokerSession:
    """One gateway connection: its client, hubs, reconciliation, health, and the actors of
    the accounts it carries.

    Built by the composition root (runtime/bootstrap.py) with the client (not yet entered),
    the hub factory, the metrics, ``fills`` (the store's fills, read by the reconciliation's
    cross-check) and the trading calendar (the week whose fills a snapshot reads). Use:
    ``async with session``, ``await session.guarded_accounts()``, ``carry`` each account's
    actor, ``await session.connect()``, ``await session.reconcile_all()``; ``stop`` cancels
    its tasks (the actors' too), and leaving the block closes the hubs and the client."""

    def __init__(
        self,
        config: Config,
        client: ProjectXClient,
        hubs: HubFactory,
        *,
        metrics: Metrics,
        wire_faults: WireFaults,
        fills: FillStore,
        calendar: TradingCalendar,
        clock: Clock,
    ) -> None:
        self.config = config
        self.client = client
        self.metrics = metrics
        self.clock = clock
        self._hubs = hubs
        self.wire_faults = wire_faults
        self._fills = fills
        self._calendar = calendar
        self.actors: dict[int, AccountActor] = {}  # the accounts this connection carries
        self.user_hub: UserHub | None = None
        self.market_hub: MarketHub | None = None
        self.sweeper: Sweeper | None = None
        self.last_event_at: datetime | None = None
        self.start_problem: str | None = None  # why it cannot log in or find accounts yet
        self._login_refused: str | None = None  # the start's login refusal, if it is one
        self._stack = contextlib.AsyncExitStack()
        self._tasks = NamedTasks()
        self.reconciles = ReconcileQueue(
            lambda most, least: self.client.limiter.admit(most, least),
            self._read_snapshots,
            self._reconciled,
            hot=lambda account_id: self._ledger(account_id).hot,
            admitted=lambda account_id: self.actors[account_id].reads_admitted(),
            moved=lambda account_id, mark: self.actors[account_id].broker_events_since(mark) > 0,
            spawn=self.spawn,
        )
        self.routes = QuoteRoutes(lambda account_id: self.actors[account_id].contracts())
        self.quotes = QuoteFanout(self._deliver_quote, self.spawn)
        self._unknown_targets: dict[str, int] = {}  # hub targets we do not read, with counts
        self._unreadable_alerted: dict[int, datetime] = {}  # account -> last such alert
        self._contracts_dirty = asyncio.Event()

    # -- lifecycle ------------------------------------------------------------------------------

    async def __aenter__(self) -> Self:
        await self._stack.enter_async_context(self.client)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
        await self._stack.aclose()  # the hubs, then the client

    @property
    def tasks(self) -> frozenset[asyncio.Task[Any]]:
        """The session's running tasks (actors, hub follow-ups, reconciliation), by name."""
        return self._tasks.running

    def spawn(self, coro: Any, name: str) -> asyncio.Task[Any]:
        """Run ``coro`` as a named task that ``stop`` cancels; a task that dies is logged."""
        return self._tasks.spawn(coro, name)

    async def stop(self) -> None:
        """Cancel every task of the session (no event is taken after this) and wait for them."""
        await self._tasks.stop()

    def carry(self, actor: AccountActor) -> None:
        """Carry ``actor``'s account on this connection (before ``connect``)."""
        self.actors[actor.account_id] = actor

    async def guard_live(self, account_id: int) -> None:
        """An account carried after ``connect`` (a reload added it): its user-hub
        subscriptions, then its first reconciliation (its actor starts with it)."""
        if self.user_hub is not None:
            await self.user_hub.subscribe_account(account_id)
        self.routes.changed(account_id)
        self._contracts_dirty.set()
        await self.reconcile_all([account_id])

    def changed(self, account_id: int) -> None:
        """An actor handled an event: its contracts may have changed (quotes to route, the
        market hub's subscriptions). Called for every event; after a quote or a tick the
        contracts the index last read still stand (``contracts_unread``), so nothing is
        marked and the subscriptions task is not woken."""
        actor = self.actors.get(account_id)
        if actor is not None and not actor.contracts_unread:
            return
        self.routes.changed(account_id)
        self._contracts_dirty.set()

    async def latest_bar_close(
        self, contract_id: str, now: datetime
    ) -> tuple[Decimal, datetime] | None:
        """A REST stand-in price for a position without live quotes (RULES.md §1)."""
        return await latest_bar_close(self.client.rest, contract_id, now)

    # -- accounts ---------------------------------------------------------------------------

    async def guarded_accounts(self, keep: Callable[[int], bool] | None = None) -> list[Account]:
        """The accounts to guard: those the config guards, and those ``keep`` says the guard
        keeps although the config no longer does. An answer with none is the gateway's (an
        account not yet visible, a slow back office) and is asked again with capped backoff,
        never fatal: a guard that exits leaves every account unguarded (RULES.md §5)."""
        attempt = 0
        url = self.config.broker.api_url
        while True:
            try:
                guarded = await self._visible_guarded_accounts(keep)
            except (AuthenticationFailed, BrokerRefused) as exc:
                self.start_problem = self._login_refused = f"login refused by {url}: {exc}"
                guarded = []
            except (RetryLater, OSError) as exc:
                self.start_problem = f"gateway {url} unreachable: {exc}"
                guarded = []
            else:
                self._login_refused = None
                self.start_problem = None if guarded else "no account to guard yet"
            if guarded:
                return guarded
            delay = backoff_delay(attempt, base=1.0, cap=ACCOUNTS_RETRY_CAP)
            attempt += 1
            _log.error("%s; retrying in %.0f s", self.start_problem, delay)
            await asyncio.sleep(delay)

    async def _visible_guarded_accounts(self, keep: Callable[[int], bool] | None) -> list[Account]:
        visible = await self.client.search_accounts(only_active=True)
        guarded = [a for a in visible if self.config.guards(a.id) or (keep and keep(a.id))]
        if self.config.accounts.mode == "listed":
            listed = {e.id for e in self.config.accounts.list if e.enabled}
            missing = listed - {a.id for a in visible}
            for account_id in sorted(missing):
                _log.error(
                    "account %s is listed in the config but not visible to the key", account_id
                )
        if not guarded:
            _log.error(
                "no account to guard: the API key sees %s; check `accounts:` in the config",
                [a.id for a in visible],
            )
        return guarded

    # -- reconciliation ---------------------------------------------------------------------

    async def reconcile_all(
        self, only: list[int] | None = None, since: float | None = None
    ) -> None:
        """Snapshot accounts from REST into their engines (all, or ``only`` these), hot
        accounts first; returns once each has had a snapshot read at or after ``since``
        (monotonic s; default now) handed over (runtime/reconcile_queue.py). A failed read is
        retried (``needs_reconcile``: the housekeeping loop tries again), never dropped: the
        account's book is unknown until it succeeds."""
        accounts = list(self.actors) if only is None else [a for a in only if a in self.actors]
        await asyncio.gather(*(self.reconciles.reconcile(a, since) for a in accounts))

    async def _read_snapshots(self, account_ids: list[int]) -> Snapshots:
        since = self._calendar.week_start(self.clock())  # week P&L needs the week's fills
        return await snapshots(self.client, account_ids, since, self.clock)

    async def _reconciled(self, acct_id: int, result: Result, mark: int) -> None:
        """One account's snapshot (or why it failed) into its engine."""
        actor = self.actors[acct_id]
        if isinstance(result, Exception):
            _log.error("account %s: reconciliation failed (retrying): %s", acct_id, result)
            actor.reconcile_failed(result)  # a refused login is news; a busy gateway is not
            actor.needs_reconcile = True
            return
        actor.needs_reconcile = False
        if actor.reconciled:  # the actor alone touches its engine, one event at a time
            await actor.queue.put(result)
            await self._check_fills(acct_id, result)
            return
        # The actor's own requests (REST stand-in prices) are not the reconciliation's.
        with request_priority(Priority.DEFAULT):
            try:
                await actor.first_snapshot(result, mark)
            except Exception:
                actor.needs_reconcile = True  # not guarded until a snapshot goes in: again
                raise
            self.spawn(actor.run(), f"actor-{acct_id}")  # guarded from now on
        await self._check_fills(acct_id, result)

    async def _check_fills(self, acct_id: int, result: SnapshotEvent) -> None:
        """A diagnostic once the engine has the snapshot; a store read, off the loop."""
        await asyncio.to_thread(self._check_fills_against_store, acct_id, result)

    def _check_fills_against_store(self, account_id: int, snap: SnapshotEvent) -> None:
        """Today's P&L is rebuilt from the broker; a fill we stored that the broker no longer
        lists (voided, or a broker-side correction) is worth an operator's look. Blocking (a
        worker thread); a failure only says so: the snapshot is with the engine already."""
        day = self._calendar.trading_day(snap.at)
        try:
            stored = {t.id for t in self._fills.fills(account_id, trading_day=day)}
        except Exception:
            _log.exception("account %s: stored fills not compared with the broker's", account_id)
            return
        listed = {t.id for t in snap.trades}
        for trade_id in sorted(stored - listed):
            _log.warning(
                "account %s: fill %s is in the store but not in the broker's Trade/search",
                account_id,
                trade_id,
            )

    def _ledger(self, account_id: int) -> Ledgered:
        """What the engine believes of the account, for the sweep and the user hub's cap
        (asked of every account: its holdings, never a full view)."""
        held = self.actors[account_id].engine.holdings(account_id, self.clock())
        hot = bool(held.positions) or held.locked
        return Ledgered(held.positions, held.balance, held.can_trade, hot)

    def _at_stake(self) -> bool:
        """Any account of this session holding a position or locked: the user hub then
        reconnects within ``HOT_BACKOFF_CAP`` (docs/RUNTIME.md "Reconnects")."""
        return any(self._ledger(account_id).hot for account_id in self.actors)

    @property
    def login_problem(self) -> str | None:
        """Why this connection cannot log in or refresh its token (None: it can); read by the
        alert watch (runtime/alerts/watch.py)."""
        return self._login_refused or self.client.tokens.failing

    @property
    def breaker_openings(self) -> int:
        """How often the REST circuit breaker has opened since the start."""
        return self.client.breaker.openings

    def user_stream_up(self) -> bool:
        """The user hub is connected (the account events flow)."""
        return self.user_hub is not None and self.user_hub.connected.is_set()

    def market_stream_up(self) -> bool:
        """The market hub is connected (the quotes flow)."""
        return self.market_hub is not None and self.market_hub.connected.is_set()

    def _sweeper(self) -> Sweeper:
        """Periodic reconciliation against silent streams (runtime/sweep.py)."""

        def reconnect(why: str) -> None:
            if self.user_hub is not None:
                self.user_hub.request_reconnect(why)

        return Sweeper(
            self.client,
            lambda: [i for i, a in self.actors.items() if a.reconciled],
            self._ledger,
            self._missed_events,
            reconnect,
            self.clock,
            share=self.config.reconcile.share,
            stream_up=self.user_stream_up,
        )

    def _missed_events(self, account_id: int, why: str) -> None:
        """The broker shows what the stream never told: alert, count, and take a snapshot."""
        _log.warning("account %s: missed events (%s); reconciling from REST", account_id, why)
        self.metrics.missed_events(account_id)
        self.actors[account_id].missed_events(why)
        self.spawn(self.reconcile_all([account_id]), f"resync-{account_id}")

    # -- hubs ------------------------------------------------------------------------------

    async def connect(self) -> None:
        """Connect both hubs (the user hub subscribed to every carried account), wait for the
        user hub (at most ``USER_HUB_FIRST``), and start the session's loops: market
        subscriptions, housekeeping, the sweep. Reads taken after the user hub is up miss no
        event, so its connect's own reconciliation is the start's (the same round)."""
        hubs = self._hubs
        self.user_hub = await self._stack.enter_async_context(
            hubs.user(
                self._on_hub_message,
                on_connected=lambda: self._hub_state("user", True),
                on_disconnected=lambda why: self._hub_state("user", False),
                hot=self._at_stake,
            )
        )
        for account_id in self.actors:
            await self.user_hub.subscribe_account(account_id)
        self.market_hub = await self._stack.enter_async_context(
            hubs.market(
                self._on_hub_message,
                on_connected=lambda: self._hub_state("market", True),
                on_disconnected=lambda why: self._hub_state("market", False),
            )
        )
        for account_id in self.actors:
            self.routes.changed(account_id)
        self._contracts_dirty.set()
        await self._user_hub_first()
        self.spawn(self._market_subscriptions(), "market-subscriptions")
        self.spawn(self._housekeeping(), "housekeeping")
        self.sweeper = self._sweeper()
        self.spawn(self.sweeper.run(), "reconcile-sweep")

    async def _user_hub_first(self) -> None:
        """Wait (at most ``USER_HUB_FIRST``) for the user hub: reads taken before it is up
        must be taken again once it is (events in between are lost)."""
        assert self.user_hub is not None
        try:
            async with asyncio.timeout(USER_HUB_FIRST):
                await self.user_hub.connected.wait()
        except TimeoutError:
            _log.warning(
                "user hub not connected after %.0f s: reconciling anyway (again once it is)",
                USER_HUB_FIRST,
            )

    def _hub_state(self, hub: str, connected: bool) -> None:
        self.metrics.hub_state(hub, connected)
        if connected and hub == "user":
            self.spawn(self._after_reconnect(time.monotonic()), "reconcile-after-connect")
            return
        if not connected:
            self.metrics.hub_reconnect(hub)
        # This connection's accounts only: another connection's stream is not down.
        event = ConnectionEvent(self.clock(), "user" if hub == "user" else "market", connected)
        for actor in self.actors.values():
            actor.offer(event)

    async def _after_reconnect(self, connected_at: float) -> None:
        # Reconcile first, then tell the engine the stream is back (RULE-010's order): each
        # account as soon as its own snapshot is in, not once every account's is. Reads that
        # started after the connect will do (the start's, when the hub came up first).
        async def back(account_id: int) -> None:
            await self.reconcile_all([account_id], since=connected_at)
            self.actors[account_id].offer(ConnectionEvent(self.clock(), "user", True))

        await asyncio.gather(*(back(a) for a in self.actors))

    def _on_hub_message(self, message: HubMessage) -> None:
        """Inline in the hub's receive loop: map and enqueue only. A bad record is rejected
        (counted, logged once per kind) and the frame's other records still go through."""
        known = USER_TARGETS if message.hub == "user" else MARKET_TARGETS
        if message.target not in known:  # e.g. GatewayDepth: not ours to read; said once
            seen = self._unknown_targets.get(message.target, 0) + 1
            self._unknown_targets[message.target] = seen
            if seen in (1, 10, 100, 1000, 10000):
                _log.info("%s hub: %s not read (%d so far)", message.hub, message.target, seen)
            return
        decode = decode_user if message.hub == "user" else decode_market
        frame = decode(message.target, message.arguments, message.received_at)
        for error in frame.rejected:
            self.wire_faults.reject(message.hub, message.target, error)
            if message.hub == "user":
                self._unreadable_record(message.target, error, message.received_at)
        if not frame.events:
            return
        self.last_event_at = message.received_at
        for event in frame.events:
            if isinstance(event, QuoteEvent):
                self.quotes.fan_out(event, self.routes.accounts_for(event.quote.contract_id))
                continue
            target = self.actors.get(getattr(event, "account_id", -1))
            if target is not None:
                target.offer(event)

    def _deliver_quote(self, account_id: int, quote: QuoteEvent) -> None:
        actor = self.actors.get(account_id)  # a reload may have removed it since the quote came
        if actor is not None:
            actor.offer(quote)

    def _unreadable_record(self, target: str, error: WireError, at: datetime) -> None:
        """A user-hub record that could not be read may have been a fill or a position: its
        account (every account of this session when its ``accountId`` was unreadable too) is
        re-read from REST by the housekeeping loop (fail closed, RULES.md §5), and the trader
        told, at most once per ``UNREADABLE_ALERT_EVERY`` per account (a hostile stream must
        not flood alerts)."""
        owner = error.account_id
        for account_id in [owner] if owner in self.actors else list(self.actors):
            actor = self.actors[account_id]
            actor.needs_reconcile = True
            last = self._unreadable_alerted.get(account_id)
            if last is None or at - last >= UNREADABLE_ALERT_EVERY:
                self._unreadable_alerted[account_id] = at
                actor.unreadable_record(target, str(error))

    async def _market_subscriptions(self) -> None:
        """Keep the market hub subscribed to every contract with a position or order."""
        while True:
            await self._contracts_dirty.wait()
            # After the burst, not in it: the views this reads (one per changed account) would
            # otherwise run between a breach's journal write and its send, and a burst of
            # events is read once (docs/PERFORMANCE.md). Quotes route without it.
            await asyncio.sleep(SUBSCRIPTIONS_SETTLE)
            self._contracts_dirty.clear()
            try:
                wanted = self.routes.contracts()  # only the accounts that changed are read
                if self.market_hub is not None:
                    await self.market_hub.set_contracts(wanted)
            except Exception as exc:  # the hub's supervisor re-subscribes on reconnect
                _log.warning("market subscriptions not updated: %s", exc)

    async def _housekeeping(self) -> None:
        """Reconcile accounts whose queue overflowed; refresh gauges."""
        while True:
            await asyncio.sleep(HOUSEKEEPING_EVERY)
            try:
                needy = [i for i, a in self.actors.items() if a.needs_reconcile]
                if needy:
                    await self.reconcile_all(needy)
                now = self.clock()
                # A slice of accounts per loop callback (every second, 500 accounts' locks).
                async for part in in_slices(list(self.actors.items())):
                    for acct_id, actor in part:
                        if self.actors.get(acct_id) is not actor:  # removed meanwhile
                            continue
                        locks = actor.engine.locks(acct_id)
                        active = [lock for lock in locks if lock.is_active(now)]
                        self.metrics.set_active_locks(acct_id, len(active))
            except Exception:  # one bad round must not end the overflow reconciles for good
                _log.exception("housekeeping failed; again in %s s", HOUSEKEEPING_EVERY)
