"""``Order/v2/query`` over a real socket (API doc §5.12): filter, sort, pages, total count, and
the only REST view of suspended bracket children (§8.3)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from .conftest import Client, FakeClock

MYM = "CON.F.US.MYM.M26"
MNQ = "CON.F.US.MNQ.M26"


async def _bracket_limit(client: Client, acct: int) -> int:
    """A resting buy limit with both brackets: the entry Open, its two children Suspended."""
    entry = {"accountId": acct, "contractId": MYM, "type": 1, "side": 0, "size": 1,
             "limitPrice": 40000, "customTag": "Q",
             "stopLossBracket": {"ticks": -10, "type": 4},
             "takeProfitBracket": {"ticks": 20, "type": 1}}  # fmt: skip
    placed = await client.api("Order/place", entry)
    assert placed["success"], placed
    return int(placed["orderId"])


async def _query(client: Client, **body: Any) -> dict[str, Any]:
    return await client.api("Order/v2/query", body)


async def test_statuses_1_and_8_show_the_suspended_children_newest_first(
    client: Client, clock: FakeClock
) -> None:
    await client.login()
    acct = await client.account_id()
    market = {"accountId": acct, "contractId": MNQ, "type": 2, "side": 0, "size": 1}
    first = (await client.api("Order/place", market))["orderId"]  # filled: not in [1, 8]
    clock.advance(seconds=1)
    entry = await _bracket_limit(client, acct)
    reply = await _query(client, filter={"accountId": acct, "statuses": [1, 8]})
    assert reply["success"] and reply["errorMessage"] is None
    rows = [(o["id"], o["status"], o["customTag"]) for o in reply["orders"]]
    # entry and children share one creationTimestamp: the tie breaks by id, newest first
    assert rows == [(entry + 2, 8, "Q-TP"), (entry + 1, 8, "Q-SL"), (entry, 1, "Q")]
    assert reply["totalCount"] is None  # not asked for
    assert reply["orders"][0]["parentOrderId"] == entry  # the full REST order model
    # Order/search: oldest first, and never the suspended children
    search = await client.api(
        "Order/search", {"accountId": acct, "startTimestamp": "2026-01-01T00:00:00Z"}
    )
    assert [o["id"] for o in search["orders"]] == [first, entry]


async def test_without_statuses_every_order_matches(client: Client) -> None:
    await client.login()
    acct = await client.account_id()
    entry = await _bracket_limit(client, acct)
    await client.api("Order/cancel", {"accountId": acct, "orderId": entry})
    reply = await _query(client, filter={"accountId": acct})
    assert [(o["id"], o["status"]) for o in reply["orders"]] == [
        (entry + 2, 3), (entry + 1, 3), (entry, 3)
    ]  # fmt: skip


async def test_contract_and_creation_window_filter(client: Client, clock: FakeClock) -> None:
    await client.login()
    acct = await client.account_id()
    ids = []
    for cid in (MYM, MNQ, MYM):
        limit = 40000 if cid == MYM else 20000
        order = {"accountId": acct, "contractId": cid, "type": 1, "side": 0, "size": 1,
                 "limitPrice": limit}  # fmt: skip
        ids.append((await client.api("Order/place", order))["orderId"])
        clock.advance(minutes=1)
    start = clock.now - timedelta(minutes=3)
    mym = await _query(client, filter={"accountId": acct, "contractId": MYM})
    assert [o["id"] for o in mym["orders"]] == [ids[2], ids[0]]
    window = {
        "accountId": acct,
        "createdAfter": (start + timedelta(minutes=1)).isoformat(),  # inclusive
        "createdBefore": (start + timedelta(minutes=2)).isoformat(),  # exclusive
    }
    assert [o["id"] for o in (await _query(client, filter=window))["orders"]] == [ids[1]]


async def test_pages_sort_and_total_count(client: Client, clock: FakeClock) -> None:
    await client.login()
    acct = await client.account_id()
    ids = []
    for _ in range(5):
        order = {"accountId": acct, "contractId": MYM, "type": 1, "side": 0, "size": 1,
                 "limitPrice": 40000}  # fmt: skip
        ids.append((await client.api("Order/place", order))["orderId"])
        clock.advance(seconds=1)
    page = await _query(
        client, filter={"accountId": acct}, pageSize=2, pageOffset=1, includeTotalCount=True
    )
    assert [o["id"] for o in page["orders"]] == [ids[3], ids[2]]
    assert page["totalCount"] == 5
    ascending = await _query(client, filter={"accountId": acct}, sortBy=1, sortDirection=0)
    assert [o["id"] for o in ascending["orders"]] == ids
    past_end = await _query(client, filter={"accountId": acct}, pageOffset=5)
    assert past_end["orders"] == []


async def test_bad_requests_are_400_problem_details(client: Client) -> None:
    await client.login()
    acct = await client.account_id()
    for body, field in (
        ({}, "filter"),
        ({"filter": {}}, "accountId"),
        ({"filter": {"accountId": acct, "statuses": [9]}}, "statuses"),
        ({"filter": {"accountId": acct}, "pageSize": 0}, "pageSize"),
        ({"filter": {"accountId": acct}, "sortBy": 2}, "sortBy"),
    ):
        resp = await client.raw("/api/Order/v2/query", body, token=client.token)
        assert resp.status == 400, body
        problem = await resp.json(content_type=None)
        assert (problem["status"], problem["instance"]) == (400, "/api/Order/v2/query")
        assert problem["detail"].startswith(field), (body, problem)


async def test_unknown_account_is_code_1(client: Client) -> None:
    await client.login()
    reply = await _query(client, filter={"accountId": 7})
    assert (reply["success"], reply["errorCode"], reply["orders"]) == (False, 1, None)
