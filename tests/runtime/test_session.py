"""A broker session carries its own accounts: a hub outage marks only them, and a quote reaches
only the accounts holding its contract, through the contract → accounts index, which reads an
account's contracts again only after that account changed."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import pytest

from risk_manager.domain.events import ConnectionEvent, Event, QuoteEvent
from risk_manager.engine.view import Holdings
from risk_manager.projectx.hub_connection import HubMessage
from risk_manager.runtime.actor import AccountActor
from risk_manager.runtime.quote_routes import QuoteRoutes
from risk_manager.runtime.session import BrokerSession
from support.sessions import bare_session

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
MNQ = "CON.F.US.MNQ.H26"
MES = "CON.F.US.MES.H26"


@dataclass
class _Actor:
    """What a session asks of an actor: its id, its contracts, and ``offer``."""

    account_id: int
    held: frozenset[str] = frozenset()
    offered: list[Event] = field(default_factory=list)
    asked: int = 0  # times its contracts were read
    engine: Any = None
    contracts_unread: bool = True  # the session marks it at every change

    def contracts(self) -> frozenset[str]:
        self.asked += 1
        return self.held

    def offer(self, event: Event) -> None:
        self.offered.append(event)


def _session(*actors: _Actor) -> BrokerSession:
    session = bare_session(lambda: NOW)
    for actor in actors:
        session.carry(cast(AccountActor, actor))
        session.changed(actor.account_id)
    return session


def _quote(contract_id: str) -> HubMessage:
    return HubMessage("market", "GatewayQuote", [contract_id, {"lastPrice": 21000.25}], NOW)


def test_a_hub_outage_marks_only_the_accounts_of_its_own_session() -> None:
    mine, other = _Actor(1), _Actor(2)
    session, elsewhere = _session(mine), _session(other)
    session._hub_state("user", False)
    assert mine.offered == [ConnectionEvent(NOW, "user", False)]
    assert other.offered == []
    assert list(elsewhere.actors) == [2]


class _Unviewable:
    """An engine whose full view must not be built: the holdings alone are asked."""

    def __init__(self, held: Holdings) -> None:
        self.held = held

    def holdings(self, account_id: int, now: datetime) -> Holdings:
        return self.held

    def view(self, account_id: int, now: datetime) -> None:
        raise AssertionError("a full view (marks, every rule measured) for a yes/no")


def test_what_is_at_stake_is_read_from_the_holdings_not_a_view_per_account() -> None:
    flat = _Actor(1)
    locked = _Actor(2)
    session = _session(flat, locked)
    flat.engine = _Unviewable(Holdings({}, None, True, locked=False))
    locked.engine = _Unviewable(Holdings({}, None, True, locked=True))
    assert session._at_stake()
    locked.engine = _Unviewable(Holdings({}, None, True, locked=False))
    assert not session._at_stake()
    flat.engine = _Unviewable(Holdings({MNQ: -2}, None, True, locked=False))
    assert session._at_stake()


def test_a_quote_reaches_only_the_accounts_holding_its_contract() -> None:
    mnq, mes, flat = _Actor(1, frozenset({MNQ})), _Actor(2, frozenset({MES})), _Actor(3)
    session = _session(mnq, mes, flat)
    session._on_hub_message(_quote(MNQ))
    assert [type(e) for e in mnq.offered] == [QuoteEvent]
    assert mes.offered == [] and flat.offered == []


def test_an_account_is_read_again_only_after_it_changed() -> None:
    mnq, mes = _Actor(1, frozenset({MNQ})), _Actor(2, frozenset({MES}))
    session = _session(mnq, mes)
    for _ in range(100):
        session._on_hub_message(_quote(MNQ))
    assert (mnq.asked, mes.asked) == (1, 1)  # once each, not once per quote per account
    mes.held = frozenset({MES, MNQ})
    session.changed(2)
    session._on_hub_message(_quote(MNQ))
    assert (mnq.asked, mes.asked) == (1, 2)
    assert len(mes.offered) == 1 and len(mnq.offered) == 101


def test_an_account_whose_contracts_cannot_be_read_keeps_its_routes_and_is_read_again() -> None:
    answers: list[Any] = [frozenset({MNQ}), RuntimeError("view failed"), frozenset({MES})]

    def contracts_of(_: int) -> frozenset[str]:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return cast(frozenset[str], answer)

    routes = QuoteRoutes(contracts_of)
    routes.changed(1)
    assert routes.accounts_for(MNQ) == {1}
    routes.changed(1)
    assert routes.accounts_for(MNQ) == {1}  # the failed read left the routes as they were
    assert routes.contracts() == {MES}  # read again at the next ask
    assert routes.accounts_for(MNQ) == frozenset()


def test_an_unreadable_account_is_logged_once_per_spell_not_per_quote(
    caplog: pytest.LogCaptureFixture,
) -> None:
    failing = True

    def contracts_of(_: int) -> frozenset[str]:
        if failing:
            raise RuntimeError("view failed")
        return frozenset({MNQ})

    routes = QuoteRoutes(contracts_of)
    routes.changed(1)
    with caplog.at_level(logging.INFO, logger="risk_manager.runtime.quote_routes"):
        for _ in range(50):  # fifty quotes while the account cannot be read
            routes.accounts_for(MNQ)
        failing = False
        assert routes.accounts_for(MNQ) == {1}
    messages = [r.getMessage() for r in caplog.records]
    assert sum("not updated" in m for m in messages) == 1, messages
    assert any("up to date again" in m for m in messages)


def test_a_change_that_moves_no_contract_marks_nothing() -> None:
    """After a quote or a tick the actor's contracts stand as the index read them: the session
    neither marks the account nor wakes the market subscriptions (once per event before)."""
    mnq = _Actor(1, frozenset({MNQ}))
    session = _session(mnq)
    session._on_hub_message(_quote(MNQ))
    assert mnq.asked == 1
    session._contracts_dirty.clear()
    mnq.contracts_unread = False
    session.changed(1)
    assert not session._contracts_dirty.is_set()
    session._on_hub_message(_quote(MNQ))
    assert mnq.asked == 1 and len(mnq.offered) == 2
    mnq.contracts_unread, mnq.held = True, frozenset()  # a position closed
    session.changed(1)
    assert session._contracts_dirty.is_set()
    session._on_hub_message(_quote(MNQ))
    assert mnq.asked == 2 and len(mnq.offered) == 2  # read again: no longer routed
