"""End-to-end fuzz over real sockets: the simulator's user hub sends the daemon a seeded
stream of broken records (sent raw with ``/sim/fault`` ``raw_text``, so ``NaN``, ``Infinity``
and ``9e999999`` arrive as the JSON literals a broken server would write), invocations of the
wrong shape, unknown targets and records that are not JSON (which end the connection), then a
frame with a good record beside a bad one (``user_frame``). Afterwards the daemon has crashed
nothing, counted what it could not read on ``/metrics``, kept the good record, and still
enforces a real breach at once.

The stream comes from ``random.Random(SEED)`` over ``tests/fuzz/wire.py``'s mutations
(hypothesis cannot drive a test this long); set ``FUZZ_SEED`` to try another stream.
"""

from __future__ import annotations

import logging
import os
import random
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from fuzz.wire import USER_TARGETS, dumps, seeded_bad_record

from .conftest import Guard
from .helpers import BUY, SimTrader, wait_for

SEED = int(os.environ.get("FUZZ_SEED", "16"))
ROUNDS = 40


async def test_a_fuzzed_user_stream_neither_crashes_nor_stalls_the_daemon(
    guard: Guard, trader: SimTrader, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    daemon = await guard.start("  max_contracts: {enabled: true, limit: 1}")
    acct = trader.account_id
    hub = daemon.session.user_hub
    assert hub is not None
    rng = random.Random(SEED)
    sent_bad = garbage = 0
    for i in range(1, ROUNDS + 1):
        roll = rng.random()
        if roll < 0.7:  # a frame of broken records of one target, sent as given
            target = rng.choice(USER_TARGETS[:3])  # account records: the marker's, below
            records = []
            for j in range(rng.randint(1, 3)):
                bad = seeded_bad_record(rng, target, 900_000 + 10 * i + j)
                records.append(bad | {"accountId": acct} if "accountId" not in bad else bad)
            sent_bad += len(records)
            # Sent raw: NaN, Infinity and 9e999999 go out as the JSON literals they are.
            wrapped = [{"action": 1, "data": r} for r in records]
            text = dumps({"type": 1, "target": target, "arguments": wrapped}) + "\x1e"
            await trader.control("fault", {"kind": "raw_text", "hub": "user", "text": text})
        elif roll < 0.8:  # a record that is not JSON: the connection ends, the daemon reconnects
            garbage += 1
            text = rng.choice(["{not json", '{"type":1,"target":', "\x00\x01", "[1,2"]) + "\x1e"
            connects = hub.connects
            await trader.control("fault", {"kind": "raw_text", "hub": "user", "text": text})

            async def reconnected(before: int = connects) -> bool:
                return hub.connects > before and hub.connected.is_set()

            await wait_for(reconnected, "the user hub back after a record that is not JSON")
        else:  # wrong shapes and targets nobody reads: skipped alone
            text = rng.choice(
                [
                    '{"type":1,"target":"GatewayUserTrade","arguments":{}}',
                    '{"type":1,"target":7,"arguments":[]}',
                    '{"type":1,"target":"GatewayDepth","arguments":["x",[]]}',
                    '{"type":42}',
                ]
            )
            await trader.control(
                "fault", {"kind": "raw_text", "hub": "user", "text": text + "\x1e"}
            )

    # The good record of a mixed frame arrives: once its balance shows, everything sent before
    # it on the socket has been through the daemon (one socket, one queue, in order).
    account = {"id": acct, "name": "e2e", "canTrade": True, "isVisible": True, "simulated": True}
    marker = await trader.balance() + Decimal("0.01")
    records = [account | {"balance": "NaN-ish"}, account | {"balance": float(marker)}]
    frame = {"kind": "user_frame", "target": "GatewayUserAccount", "accountId": acct}
    await trader.control("fault", frame | {"records": records})

    async def marker_seen() -> bool:
        return guard.actor.engine.view(acct, datetime.now(UTC)).balance == marker

    await wait_for(marker_seen, "the good record beside a bad one")
    faults = daemon.session.wire_faults
    assert faults.count("user") >= sent_bad + 1  # the shapes and the non-JSON ones add to it
    assert faults.count("user", "frame") >= garbage
    text = daemon.metrics.render().decode()
    on_metrics = sum(
        float(line.rsplit(" ", 1)[1])
        for line in text.splitlines()
        if line.startswith("risk_manager_wire_records_rejected_total{") and 'source="user"' in line
    )
    assert on_metrics == faults.count("user")
    assert all(not t.done() for t in daemon.tasks), "a long-running task died"
    tracebacks = [r.getMessage() for r in caplog.records if r.exc_info]
    assert not tracebacks, f"the gateway's bad data logged as our failure: {tracebacks}"

    # A real breach right after is enforced: the guard neither crashed nor stalled.
    await trader.market("MNQ", BUY, 3)
    await trader.wait_size("MNQ", 1)
