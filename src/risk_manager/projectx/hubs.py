"""The two ProjectX hubs on top of ``HubConnection`` (API doc §7).

``UserHub``: SubscribeAccounts once, then Orders/Positions/Trades for every guarded account;
all four ``GatewayUser*`` events reach the sink (one bot lost fills by missing a handler, §12.8).
``MarketHub``: quotes for every contract with an open position, subscribed and unsubscribed as
positions come and go, with a per-contract quote watchdog (§12.7).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from risk_manager.projectx.hub_connection import HubConnection, HubMessage, Sink, TokenSource

_log = logging.getLogger(__name__)

USER_EVENTS = frozenset(
    {"GatewayUserAccount", "GatewayUserOrder", "GatewayUserPosition", "GatewayUserTrade"}
)
MARKET_EVENTS = frozenset({"GatewayQuote", "GatewayTrade", "GatewayDepth"})

_PER_ACCOUNT = (
    ("SubscribeOrders", "UnsubscribeOrders"),
    ("SubscribePositions", "UnsubscribePositions"),
    ("SubscribeTrades", "UnsubscribeTrades"),
)


def _checked(events: frozenset[str], hub: str, sink: Sink) -> Sink:
    def forward(message: HubMessage) -> None:
        # An unexpected target is forwarded without a word here: the daemon counts it and
        # says so at the 1st/10th/100th/1000th time (one line per frame flooded the log).
        sink(message)

    return forward


class UserHub(HubConnection):
    def __init__(self, url: str, tokens: TokenSource, sink: Sink, **options: Any) -> None:
        super().__init__("user", url, tokens, _checked(USER_EVENTS, "user", sink), **options)
        self.accounts: set[int] = set()

    async def subscribe_account(self, account_id: int) -> None:
        await self.subscribe("SubscribeAccounts")
        self.accounts.add(account_id)
        for method, _ in _PER_ACCOUNT:
            await self.subscribe(method, account_id)

    async def unsubscribe_account(self, account_id: int) -> None:
        self.accounts.discard(account_id)
        for method, undo in _PER_ACCOUNT:
            await self.unsubscribe(method, undo, account_id)


class MarketHub(HubConnection):
    """Quotes for ``contracts``; a watched contract silent for ``stale_after`` is re-subscribed,
    and if it stays silent for another ``stale_after`` the connection is rebuilt. Each further
    rebuild for the same silence doubles the wait (capped at 16×), so a closed market with open
    positions does not reconnect in a tight loop."""

    def __init__(self, url: str, tokens: TokenSource, sink: Sink, **options: Any) -> None:
        self._last_quote: dict[str, float] = {}
        self._resubscribed_at: dict[str, float] = {}
        self._strikes = 0
        super().__init__("market", url, tokens, self._track(sink), **options)
        self.contracts: set[str] = set()
        self.watchdog_checks.append(self._check_quotes)

    def _track(self, sink: Sink) -> Sink:
        forward = _checked(MARKET_EVENTS, "market", sink)

        def track(message: HubMessage) -> None:
            if message.target == "GatewayQuote" and message.arguments:
                contract_id = message.arguments[0]
                if isinstance(contract_id, str):
                    self._last_quote[contract_id] = self._monotonic()
                    self._resubscribed_at.pop(contract_id, None)
                    self._strikes = 0
            forward(message)

        return track

    async def set_contracts(self, contracts: set[str]) -> None:
        """Subscribe quotes for new contracts and unsubscribe the ones no longer wanted."""
        wanted = set(contracts)
        for contract_id in sorted(self.contracts - wanted):
            self.contracts.discard(contract_id)
            self._last_quote.pop(contract_id, None)
            self._resubscribed_at.pop(contract_id, None)
            await self.unsubscribe(
                "SubscribeContractQuotes", "UnsubscribeContractQuotes", contract_id
            )
        for contract_id in sorted(wanted - self.contracts):
            self.contracts.add(contract_id)
            self._last_quote[contract_id] = self._monotonic()  # the clock starts at subscribe
            await self.subscribe("SubscribeContractQuotes", contract_id)

    def _check_quotes(self) -> str | None:
        if not self.connected.is_set():
            return None
        now = self._monotonic()
        limit = self.stale_after * min(2**self._strikes, 16)
        for contract_id in sorted(self.contracts):
            since = now - max(self._last_quote.get(contract_id, now), self.connected_at)
            if since <= limit:
                continue
            resubscribed = self._resubscribed_at.get(contract_id)
            if resubscribed is None or resubscribed < self.connected_at:
                self._resubscribed_at[contract_id] = now
                _log.warning("market hub: %s quiet for %.0fs; re-subscribing", contract_id, since)
                self.spawn(self.invoke("SubscribeContractQuotes", contract_id), "resubscribe")
            elif now - resubscribed > limit:
                self._resubscribed_at.clear()
                self._strikes += 1
                return f"no quote for {contract_id} in {since:.0f}s after re-subscribing"
        return None


@dataclass(frozen=True, slots=True)
class HubFactory:
    """Builds one gateway connection's two hubs (unconnected: enter each to connect), given
    their URLs, the connection's token source and the options every hub of the run shares
    (``HubConnection``'s keyword arguments: backoff, watchdog, timeouts). The composition root
    makes one; the broker session calls it with its own sink and callbacks."""

    user_url: str
    market_url: str
    tokens: TokenSource
    options: Mapping[str, Any] = field(default_factory=dict)

    def user(
        self,
        sink: Sink,
        *,
        on_connected: Callable[[], None],
        on_disconnected: Callable[[str], None],
        hot: Callable[[], bool],
    ) -> UserHub:
        """The user hub (API doc §7.3); ``hot``: an account at stake reconnects sooner."""
        return UserHub(
            self.user_url,
            self.tokens,
            sink,
            on_connected=on_connected,
            on_disconnected=on_disconnected,
            hot=hot,
            **self.options,
        )

    def market(
        self,
        sink: Sink,
        *,
        on_connected: Callable[[], None],
        on_disconnected: Callable[[str], None],
    ) -> MarketHub:
        """The market hub (API doc §7.4)."""
        return MarketHub(
            self.market_url,
            self.tokens,
            sink,
            on_connected=on_connected,
            on_disconnected=on_disconnected,
            **self.options,
        )


__all__ = ["MARKET_EVENTS", "USER_EVENTS", "HubFactory", "MarketHub", "UserHub"]
