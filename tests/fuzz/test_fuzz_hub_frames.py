"""Fuzz: hub frames through the client's real receive path (``signalr.RecordBuffer`` framing,
``HubConnection``'s record dispatch, the broker session's sink, ``projectx/mapping.py``) and
on into the engine.

Properties, for any mix of good records, broken records (``wire.REQUIRED``), records with
extra keys, duplicate ids with different values, unknown targets, pings, stray completions
and invocations of the wrong shape, cut into frames at any points:

- nothing raises (a record that is not JSON is its own test below: it ends the connection);
- every broken record and every malformed invocation is counted once, on ``WireFaults`` and
  on ``/metrics`` alike, and each kind of fault is logged once, naming the field, with no
  traceback;
- every good record reaches its account's actor, whatever its neighbours;
- the engine, with every rule on, takes everything that was let through without raising.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal
from types import SimpleNamespace
from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from risk_manager.config.models import Config
from risk_manager.domain.events import Event
from risk_manager.engine.factory import calendar_for, engine_for
from risk_manager.projectx.client import ProjectXClient
from risk_manager.projectx.hub_connection import MAX_FRAME, HubConnection
from risk_manager.projectx.hubs import HubFactory
from risk_manager.projectx.mapping import decode_market, decode_user
from risk_manager.projectx.wire_faults import WireFaults
from risk_manager.runtime.actor import AccountActor
from risk_manager.runtime.metrics import Metrics
from risk_manager.runtime.session import BrokerSession
from risk_manager.signalr import (
    PING_RECORD,
    ProtocolError,
    RecordBuffer,
    encode_record,
)
from risk_manager.store.ports import FillStore

from .wire import ACCOUNT, CID, FUZZ, USER_TARGETS, bad_records, dumps, extra_keys, good, now

#: Every rule on, at limits the fuzzed records reach (the engine must compute, not just store).
CONFIG = Config.model_validate(
    {
        "rules": {
            "max_contracts": {"enabled": True, "limit": 2},
            "daily_realized_loss": {"enabled": True, "limit": 300},
            "daily_unrealized_loss": {"enabled": True, "limit": 200},
            "daily_realized_profit": {"enabled": True, "target": 500},
            "trade_frequency_limit": {"enabled": True, "per_minute": 3},
            "no_stop_loss_grace": {"enabled": True, "grace": "20s"},
            "daily_net_loss": {"enabled": True, "limit": 400, "trailing": True},
        }
    }
)


@dataclass
class _Actor:
    """What the session asks of an actor: its id, its contracts, ``offer``."""

    account_id: int
    offered: list[Event] = field(default_factory=list)
    needs_reconcile: bool = False  # set by the session for an unreadable user record
    told: list[str] = field(default_factory=list)  # what the trader was told about it
    contracts_unread: bool = True  # the session marks its routes at every change

    def contracts(self) -> frozenset[str]:
        return frozenset({CID})

    def offer(self, event: Event) -> None:
        self.offered.append(event)

    def unreadable_record(self, target: str, error: str) -> None:
        self.told.append(f"{target}: {error}")


@dataclass
class Frame:
    """One fuzzed stream: its text, and what the receive path must make of it."""

    text: str = ""
    good: int = 0  # records that must reach the actor
    bad: int = 0  # records and invocations that must be counted as rejected
    shapes: int = 0  # of which invocations of the wrong shape (counted by whichever hub reads)


def _invocation(target: str, arguments: list[Any]) -> str:
    return dumps({"type": 1, "target": target, "arguments": arguments}) + "\x1e"


@st.composite
def streams(draw: st.DrawFn) -> Frame:
    out = Frame()
    for i in range(1, draw(st.integers(1, 12)) + 1):
        kind = draw(st.sampled_from(["good", "bad", "dup", "unknown", "noise", "shape"]))
        target = draw(st.sampled_from([*USER_TARGETS, "GatewayQuote"]))
        if kind in ("good", "bad", "dup"):
            records: list[dict[str, Any]] = []
            for j in range(draw(st.integers(1, 3))):
                rid = 1000 * i + j
                if kind == "bad" and j == 0:  # one bad record, good ones beside it
                    records.append(draw(bad_records(target, rid)))
                    out.bad += 1
                    continue
                record = good(target, rid) | draw(extra_keys())
                if kind == "dup" and "accountId" in record:  # same id, other values: taken
                    record = record | {"id": i, "size": 2}
                records.append(record)
                out.good += 1
            if target == "GatewayQuote":
                payload: object = records if len(records) > 1 else records[0]
                out.text += _invocation(target, [CID, payload])
            elif draw(st.booleans()):  # live: {action, data} per record
                out.text += _invocation(target, [{"action": 1, "data": r} for r in records])
            else:  # the documented bare objects
                out.text += _invocation(target, records)
        elif kind == "unknown":  # read by nobody, counted by nobody, harmful to nobody
            name = draw(st.sampled_from(["GatewayDepth", "GatewayTrade", "Gateway\u2603", ""]))
            out.text += _invocation(name, draw(st.lists(st.integers(), max_size=2)))
        elif kind == "noise":
            out.text += draw(
                st.sampled_from(
                    [
                        PING_RECORD,
                        encode_record({"type": 3, "invocationId": "999", "result": None}),
                        encode_record({"type": 99}),
                        encode_record({"no": "type"}),
                        "\x1e",
                    ]
                )
            )
        else:  # an invocation of the wrong shape: counted, skipped alone
            out.text += draw(
                st.sampled_from(
                    [
                        dumps({"type": 1, "target": 7, "arguments": []}) + "\x1e",
                        dumps({"type": 1, "target": "GatewayUserTrade", "arguments": {}}) + "\x1e",
                        dumps({"type": 1, "target": "GatewayUserTrade"}) + "\x1e",
                    ]
                )
            )
            out.bad += 1
            out.shapes += 1
    return out


def _cut(text: str, cuts: list[int]) -> list[str]:
    points = sorted({c % (len(text) + 1) for c in cuts})
    return [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _receive_path() -> tuple[HubConnection, HubConnection, _Actor, WireFaults, Metrics]:
    """A broker session (real metrics, real ``WireFaults``) with one account, and its two hubs'
    receive paths, unconnected: frames are fed as the socket reader feeds them."""
    metrics = Metrics()
    faults = WireFaults(metrics.wire_record_rejected)
    client = cast(ProjectXClient, SimpleNamespace(tokens=None))
    hubs = HubFactory("wss://u.invalid", "wss://m.invalid", cast(Any, None), {"faults": faults})
    session = BrokerSession(
        CONFIG,
        client,
        hubs,
        metrics=metrics,
        wire_faults=faults,
        fills=cast(FillStore, SimpleNamespace()),
        calendar=calendar_for(CONFIG.trading_day),
        clock=now,
    )
    actor = _Actor(ACCOUNT)
    session.carry(cast(AccountActor, actor))
    session.changed(ACCOUNT)
    sink = session._on_hub_message  # the sink the session hands its hubs
    user = HubConnection("user", "wss://user.invalid", cast(Any, None), sink, faults=faults)
    market = HubConnection("market", "wss://m.invalid", cast(Any, None), sink, faults=faults)
    return user, market, actor, faults, metrics


def _rejected_on_metrics(metrics: Metrics) -> float:
    lines = metrics.render().decode().splitlines()
    prefix = "risk_manager_wire_records_rejected_total{"
    return sum(float(line.rsplit(" ", 1)[1]) for line in lines if line.startswith(prefix))


@FUZZ
@given(streams(), st.lists(st.integers(min_value=0), max_size=8), st.booleans())
def test_fuzzed_hub_frames_are_read_record_by_record(
    stream: Frame, cuts: list[int], on_market: bool
) -> None:
    user, market, actor, faults, metrics = _receive_path()
    hub = market if on_market else user  # the mapping decides by the hub's name, not the target
    log = logging.getLogger("risk_manager")
    lines = _Lines()
    log.addHandler(lines)
    try:
        inbox = RecordBuffer(MAX_FRAME)
        for frame in _cut(stream.text, cuts):
            assert hub._dispatch(inbox.feed(frame)) is None  # the socket reader's step
    finally:
        log.removeHandler(lines)
    if not on_market and faults.count("user") > faults.count("user", "invocation"):
        # fail closed: an unreadable user record may have been a fill, so re-read the account
        assert actor.needs_reconcile and actor.told
    assert _rejected_on_metrics(metrics) == faults.count()
    rejected = [r for r in lines.records if "record rejected" in r.getMessage()]
    kinds = {(r.args[0], r.args[1], r.args[3]) for r in rejected if isinstance(r.args, tuple)}
    assert len(rejected) == len(kinds), "a kind of fault logged more than once"
    assert not any(r.exc_info for r in lines.records), "a traceback for the gateway's data"
    engine = engine_for(CONFIG)
    for event in actor.offered:
        engine.process(event, now())  # raises nothing for what the mapping let through


@FUZZ
@given(streams(), st.lists(st.integers(min_value=0), max_size=8))
def test_every_good_record_arrives_and_every_bad_one_is_counted(
    stream: Frame, cuts: list[int]
) -> None:
    """Each record on the hub that carries its target (user records on the user hub, quotes on
    the market hub), so the counts are exact."""
    user, market, actor, faults, _ = _receive_path()
    inboxes = {"user": RecordBuffer(MAX_FRAME), "market": RecordBuffer(MAX_FRAME)}
    for frame in _cut(stream.text, cuts):
        for name, hub in (("user", user), ("market", market)):
            hub._dispatch(inboxes[name].feed(frame))
    # Both hubs read the whole stream: each record is read once as its own hub's and ignored
    # (an unexpected target) by the other; an invocation of the wrong shape is counted by both.
    assert len(actor.offered) == stream.good
    assert faults.count(target="invocation") == 2 * stream.shapes
    assert faults.count() == stream.bad + stream.shapes


def test_a_record_that_is_not_json_is_counted_and_ends_the_connection() -> None:
    user, _, _, faults, metrics = _receive_path()
    inbox = RecordBuffer(MAX_FRAME)
    with pytest.raises(ProtocolError):
        user._dispatch(inbox.feed(PING_RECORD + "{not json\x1e"))
    assert user._unreadable(ProtocolError("hub record is not JSON (9 chars)")).startswith(
        "protocol error"
    )
    assert faults.count("user", "frame") == 1
    assert _rejected_on_metrics(metrics) == 1


def test_a_frame_longer_than_the_limit_is_refused_before_it_is_held() -> None:
    inbox = RecordBuffer(MAX_FRAME)
    with pytest.raises(ProtocolError, match="longer than"):
        inbox.feed('{"type":1,"target":"GatewayUserTrade","arguments":["' + "x" * MAX_FRAME)


NUMERIC = {
    "GatewayUserTrade": ["price", "profitAndLoss", "fees", "commissions", "size"],
    "GatewayUserPosition": ["averagePrice", "size"],
    "GatewayUserAccount": ["balance"],
    "GatewayUserOrder": ["limitPrice", "stopPrice", "size"],
}
numbers = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True),
    st.integers(),
    st.floats(),
    st.sampled_from([Decimal("9e999999"), Decimal("-9e999999"), Decimal("1e-999999"), 2**80]),
)


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(sorted(NUMERIC)), st.data()), min_size=1, max_size=6))
def test_any_number_the_mapping_takes_the_engine_computes_with(
    steps: list[tuple[str, st.DataObject]],
) -> None:
    """Numbers as the receive path parses them (``Decimal`` for a fraction or an exponent):
    what the mapping accepts, the engine (every rule on, a quote after each record) takes
    without raising; what it refuses is a ``WireError``, never another error."""
    engine = engine_for(CONFIG)
    for i, (target, data) in enumerate(steps, start=1):
        key = data.draw(st.sampled_from(NUMERIC[target]))
        record = good(target, i) | {key: data.draw(numbers)}
        decoded = decode_user(target, [record], now())
        quote = decode_market("GatewayQuote", [CID, good("GatewayQuote", i)], now())
        for event in decoded.events + quote.events:
            engine.process(event, now())
