"""Gateway records, good and broken, for the fuzz tests (hypothesis strategies and a seeded
mutator for the end-to-end run that cannot take hypothesis' examples).

A *good* record is one ``projectx/mapping.py`` reads (API doc §7.3/§7.4 shapes; extra keys are
allowed). A *bad* one is a good record with one required field set to a value of the wrong
kind (NaN, Infinity, a string for a number or boolean, a boolean for an integer, a list, an
object, out of range, unparsable time) or removed: the mapping must reject it, whatever else
the frame holds. ``FUZZ`` bounds every fuzz test: ``FUZZ_EXAMPLES`` examples (default 60),
so the package runs in well under a minute on two cores.
"""

from __future__ import annotations

import json
import math
import os
import random
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

FUZZ = settings(
    max_examples=int(os.environ.get("FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

ACCOUNT = 7
CID = "CON.F.US.MNQ.H26"
STAMP = "2026-03-10T15:00:00.1234567+00:00"  # the gateway's 7 fractional digits
HUGE = "\x00huge"  # a placeholder json.dumps writes as a string; `dumps` makes it 9e999999


def good(target: str, i: int) -> dict[str, Any]:
    """A good record of ``target`` with id ``i`` (quote: a price carrying ``i``)."""
    base: dict[str, Any] = {"id": i, "accountId": ACCOUNT, "contractId": CID}
    if target == "GatewayUserTrade":
        return base | {
            "creationTimestamp": STAMP, "price": 21000.25, "profitAndLoss": -12.5, "fees": 0.74,
            "side": 1, "size": 1, "voided": False, "orderId": i,
        }  # fmt: skip
    if target == "GatewayUserOrder":
        return base | {"status": 1, "type": 1, "side": 0, "size": 1, "limitPrice": 20990.5}
    if target == "GatewayUserPosition":
        return base | {"type": 1, "size": 1, "averagePrice": 21000.25, "creationTimestamp": STAMP}
    if target == "GatewayUserAccount":
        return {"id": ACCOUNT, "name": "fuzz", "balance": 50000 + i, "canTrade": True}
    assert target == "GatewayQuote"
    return {"lastPrice": 21000 + i / 4, "bestBid": 21000, "bestAsk": 21000.5}


USER_TARGETS = ("GatewayUserTrade", "GatewayUserOrder", "GatewayUserPosition", "GatewayUserAccount")

# The fields whose every listed value the mapping must refuse, by kind.
INT: list[object] = [None, "7", 7.5, True, math.nan, [], {}, 2**70]
NUMBER: list[object] = [None, "7", True, math.nan, math.inf, -math.inf, [], {}, HUGE]
PRICE: list[object] = [
    math.nan,
    math.inf,
    "21000",
    True,
    [],
    HUGE,
]  # optional: only present-and-bad fails
BOOL: list[object] = [None, "false", 0, 1, [], math.nan]
STRING: list[object] = [None, 7, True, [], ""]
TIME: list[object] = [None, 7, "not a time", "2026-13-45T00:00:00Z", True]
SIDE: list[object] = [None, "1", True, 7, 1.0]
CODE: list[object] = [None, "1", True, 1.0]
REQUIRED: dict[str, dict[str, list[object]]] = {
    "GatewayUserTrade": {
        "id": INT, "accountId": INT, "contractId": STRING, "creationTimestamp": TIME,
        "price": NUMBER, "side": SIDE, "size": [*INT, -1], "orderId": INT,
        "profitAndLoss": PRICE, "fees": PRICE, "voided": BOOL[1:],
    },
    "GatewayUserOrder": {
        "id": INT, "accountId": INT, "contractId": STRING, "status": CODE, "type": CODE,
        "side": SIDE, "size": [*INT, -1], "limitPrice": PRICE,
    },
    "GatewayUserPosition": {
        "id": INT, "accountId": INT, "contractId": STRING, "type": [*CODE, 7], "size": INT,
        "averagePrice": NUMBER,
    },
    "GatewayUserAccount": {"id": INT, "balance": NUMBER, "canTrade": BOOL},
    "GatewayQuote": {"lastPrice": PRICE, "bestBid": PRICE, "bestAsk": PRICE},
}  # fmt: skip


def broken(record: dict[str, Any], target: str, key: str, value: object) -> dict[str, Any]:
    """``record`` with ``key`` set to ``value`` (``None``: removed, as the hub omits nulls)."""
    out = dict(record)
    if value is None:
        out.pop(key, None)
    else:
        out[key] = value
    return out


def dumps(obj: object) -> str:
    """JSON as a broken server could write it: ``NaN``/``Infinity`` literals, ``9e999999``."""
    return json.dumps(obj, separators=(",", ":")).replace(json.dumps(HUGE), "9e999999")


@st.composite
def bad_records(draw: st.DrawFn, target: str, i: int) -> dict[str, Any]:
    """A record of ``target`` the mapping must reject (one required field broken)."""
    fields = REQUIRED[target]
    key = draw(st.sampled_from(sorted(fields)))
    return broken(good(target, i), target, key, draw(st.sampled_from(fields[key])))


def extra_keys() -> st.SearchStrategy[dict[str, Any]]:
    """Keys the gateway may add one day: ignored, the record stays good."""
    return st.dictionaries(
        st.text(min_size=1, max_size=8).filter(lambda k: k not in _ALL_KEYS),
        st.none() | st.integers() | st.text(max_size=5),
        max_size=2,
    )


_ALL_KEYS = {k for fields in REQUIRED.values() for k in fields} | {
    "name", "isVisible", "simulated", "timestamp", "lastUpdated", "action", "data", "stopPrice",
    "fillVolume", "filledPrice", "customTag", "parentOrderId", "linkedOrderId", "commissions",
    "updateTimestamp",
}  # fmt: skip


def seeded_bad_record(rng: random.Random, target: str, i: int) -> dict[str, Any]:
    """``bad_records`` without hypothesis (the end-to-end fuzz draws from a seeded RNG)."""
    fields = REQUIRED[target]
    key = rng.choice(sorted(fields))
    return broken(good(target, i), target, key, rng.choice(fields[key]))


def now() -> datetime:
    return datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
