"""The simulator's REST API over a real socket: auth, limits, envelopes, trading."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import aiohttp

from risk_manager.domain.error_codes import (
    CancelOrderErrorCode,
    PlaceOrderErrorCode,
    RetrieveBarErrorCode,
)
from risk_manager.sim.server import SimSettings, running_sim
from support.sim_gateway import CREDENTIALS

from .conftest import START, Client, FakeClock

MYM = "CON.F.US.MYM.M26"


def _claims(token: str) -> dict[str, object]:
    segment = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))))


async def test_login_issues_a_jwt_shaped_token_valid_24h(client: Client) -> None:
    token = await client.login()
    claims = _claims(token)
    assert len(token.split(".")) == 3
    assert claims["sub"] == "demo"
    assert claims["exp"] == int((START + timedelta(hours=24)).timestamp())
    assert claims["iat"] == int(START.timestamp())


async def test_bad_credentials_answer_200_code_3_and_null_token(client: Client) -> None:
    reply = await client.api("Auth/loginKey", {"userName": "demo", "apiKey": "wrong"})
    assert reply == {"success": False, "errorCode": 3, "errorMessage": None, "token": None}


async def test_the_default_api_key_passes_client_checks_and_any_flag_key_works(
    client: Client,
) -> None:
    # project-x-py refuses a PROJECT_X_API_KEY shorter than 10 characters before it logs in.
    assert len(SimSettings().api_key) >= 10
    assert (await client.login()).count(".") == 2  # the default key logs in
    async with (
        running_sim(SimSettings(port=0, api_key="k")) as sim,
        aiohttp.ClientSession() as session,
    ):
        short = Client(sim, session)
        ok = await short.api("Auth/loginKey", {"userName": "demo", "apiKey": "k"})
        default = await short.api("Auth/loginKey", CREDENTIALS)
    assert ok["success"] and isinstance(ok["token"], str)
    assert (default["success"], default["errorCode"]) == (False, 3)


async def test_login_without_api_key_is_400_naming_it(client: Client) -> None:
    resp = await client.raw("/api/Auth/loginKey", {"userName": "demo"})
    assert resp.status == 400
    assert "apiKey" in (await resp.json())["errors"]


async def test_validate_returns_a_new_working_token(client: Client) -> None:
    await client.login()
    reply = await client.api("Auth/validate")
    assert reply["success"] and reply["newToken"] != client.token
    client.token = reply["newToken"]
    assert (await client.api("Account/search", {"onlyActiveAccounts": True}))["success"]


async def test_missing_token_is_401_with_empty_body(client: Client) -> None:
    resp = await client.raw("/api/Account/search", {"onlyActiveAccounts": True})
    assert resp.status == 401 and await resp.read() == b""


async def test_token_stops_working_after_24h(client: Client, clock: FakeClock) -> None:
    token = await client.login()
    clock.advance(hours=24, seconds=1)
    resp = await client.raw("/api/Account/search", {"onlyActiveAccounts": True}, token=token)
    assert resp.status == 401


async def test_logout_revokes_the_token(client: Client) -> None:
    token = await client.login()
    assert (await client.api("Auth/logout"))["success"]
    assert (await client.raw("/api/Auth/validate", {}, token=token)).status == 401


async def test_get_on_a_post_endpoint_is_405_and_ping_is_get(client: Client) -> None:
    assert (await client.raw("/api/Contract/available", method="GET")).status == 405
    ping = await client.raw("/api/Status/ping", method="GET")
    assert ping.status == 200 and ping.content_type == "application/json"
    assert await ping.text() == '"pong"' and await ping.json() == "pong"


async def test_rate_limit_answers_429_with_retry_after(client: Client) -> None:
    await client.login()  # the fixture's limit is 30 / 60 s per token
    statuses = []
    for _ in range(31):
        resp = await client.raw(
            "/api/Account/search", {"onlyActiveAccounts": True}, token=client.token
        )
        statuses.append(resp.status)
    assert statuses[:30] == [200] * 30 and statuses[30] == 429
    assert 1 <= int(resp.headers["Retry-After"]) <= 60


async def test_bars_have_their_own_tighter_limit(client: Client) -> None:
    await client.login()
    body = {
        "contractId": MYM, "live": False, "startTime": "2026-05-06T12:00:00Z",
        "endTime": "2026-05-06T13:00:00Z", "unit": 2, "unitNumber": 5, "limit": 3,
        "includePartialBar": False,
    }  # fmt: skip
    for _ in range(30):  # the general limit counts these too, but bars has 50/30s
        last = await client.raw("/api/History/retrieveBars", body, token=client.token)
    assert last.status == 200
    reply = await last.json()
    times = [b["t"] for b in reply["bars"]]
    assert times == sorted(times, reverse=True) and len(times) == 3
    assert times[0] == "2026-05-06T12:55:00+00:00"
    assert set(reply["bars"][0]) == {"t", "o", "h", "l", "c", "v"}


async def test_bars_error_codes(client: Client) -> None:
    await client.login()
    base = {
        "contractId": MYM, "live": False, "startTime": "2026-05-06T12:00:00Z",
        "endTime": "2026-05-06T13:00:00Z", "unit": 2, "unitNumber": 1, "limit": 10,
        "includePartialBar": True,
    }  # fmt: skip
    cases: list[tuple[dict[str, Any], int]] = [
        ({"contractId": "CON.F.US.NOPE.M26"}, RetrieveBarErrorCode.CONTRACT_NOT_FOUND),
        ({"unit": 9}, RetrieveBarErrorCode.UNIT_INVALID),
        ({"unitNumber": 0}, RetrieveBarErrorCode.UNIT_NUMBER_INVALID),
        ({"limit": 20001}, RetrieveBarErrorCode.LIMIT_INVALID),
    ]
    for change, code in cases:
        reply = await client.api("History/retrieveBars", {**base, **change})
        assert (reply["success"], reply["errorCode"]) == (False, code), change


async def test_contract_search_is_loose_and_search_by_id_returns_contract(client: Client) -> None:
    await client.login()
    reply = await client.api("Contract/search", {"searchText": "NQ", "live": False})
    roots = {c["symbolId"] for c in reply["contracts"]}
    assert {"F.US.ENQ", "F.US.MNQ", "F.US.NQG", "F.US.NQM"} <= roots
    assert len(reply["contracts"]) <= 20
    one = await client.api("Contract/searchById", {"contractId": MYM})
    assert one["contract"]["id"] == MYM and one["contract"]["tickValue"] == 0.5
    missing = await client.api("Contract/searchById", {"contractId": "CON.F.US.NOPE.M26"})
    assert (missing["errorCode"], missing["contract"]) == (1, None)
    available = await client.api("Contract/available", {"live": False})
    assert all(c["activeContract"] for c in available["contracts"])


async def test_place_error_codes(client: Client) -> None:
    await client.login()
    acct = await client.account_id()
    order = {"accountId": acct, "contractId": MYM, "type": 1, "side": 0, "size": 1,
             "limitPrice": 100, "customTag": "dup"}  # fmt: skip
    first = await client.api("Order/place", order)
    assert first["success"] and first["orderId"] > 2**31
    again = await client.api("Order/place", order)
    assert (again["success"], again["errorCode"]) == (False, PlaceOrderErrorCode.ORDER_REJECTED)
    unknown = await client.api("Order/place", {**order, "contractId": "CON.F.US.NOPE.M26"})
    assert unknown["errorCode"] == PlaceOrderErrorCode.CONTRACT_NOT_FOUND
    cancel = await client.api("Order/cancel", {"accountId": acct, "orderId": 12345})
    assert cancel == {
        "success": False,
        "errorCode": CancelOrderErrorCode.ORDER_NOT_FOUND,
        "errorMessage": None,
    }


async def test_domain_errors_carry_a_null_message_and_explained_rejections_their_text(
    client: Client,
) -> None:
    """The live gateway answers domain errors with ``errorMessage: null`` (API doc §12b); the
    place/modify rejections it explains keep the reference's quoted words (§5.6)."""
    await client.login()
    acct = await client.account_id()
    nope, unknown_acct = "CON.F.US.NOPE.M26", 1
    limit = {"accountId": acct, "contractId": MYM, "type": 1, "side": 0, "size": 1,
             "limitPrice": 100}  # fmt: skip
    resting = (await client.api("Order/place", limit))["orderId"]
    bars = {"contractId": nope, "live": False, "startTime": "2026-05-06T12:00:00Z",
            "endTime": "2026-05-06T13:00:00Z", "unit": 2, "unitNumber": 1, "limit": 10,
            "includePartialBar": False}  # fmt: skip
    null_cases: list[tuple[str, dict[str, Any], int]] = [
        ("Order/place", {**limit, "accountId": unknown_acct}, 1),
        ("Order/cancel", {"accountId": acct, "orderId": 12345}, 2),
        ("Order/modify", {"accountId": acct, "orderId": 12345, "size": 2}, 2),
        ("Order/searchById", {"accountId": acct, "orderId": 12345}, 1),
        ("Order/searchOpen", {"accountId": unknown_acct}, 1),
        ("Order/search", {"accountId": unknown_acct, "startTimestamp": "2026-05-06T00:00:00Z"}, 1),
        ("Position/searchOpen", {"accountId": unknown_acct}, 1),
        ("Position/closeContract", {"accountId": acct, "contractId": MYM}, 2),
        ("Position/partialCloseContract", {"accountId": acct, "contractId": MYM, "size": 1}, 2),
        ("Trade/search", {"accountId": unknown_acct}, 1),
        ("Contract/searchById", {"contractId": nope}, 1),
        ("History/retrieveBars", bars, 1),
    ]
    for path, body, code in null_cases:
        reply = await client.api(path, body)
        assert (reply["success"], reply["errorCode"], reply["errorMessage"]) == (
            False, code, None
        ), (path, reply)  # fmt: skip
    explained: list[tuple[str, dict[str, Any], int, str]] = [
        ("Order/place", {**limit, "contractId": nope}, 8, "Invalid symbol"),
        ("Order/place", {**limit, "type": 5, "trailPrice": 7}, 2,
         "Trail Distance exceeds maximum (1000)"),
        ("Order/place", {**limit, "type": 5, "trailPrice": 44000.5}, 2,
         "Invalid trail price. Price is not aligned to tick size."),
        ("Order/modify", {"accountId": acct, "orderId": resting, "trailPrice": 0.5}, 3,
         "Invalid trail price. Price is not aligned to tick size."),
    ]  # fmt: skip
    for path, body, code, message in explained:
        reply = await client.api(path, body)
        assert (reply["errorCode"], reply["errorMessage"]) == (code, message), (path, reply)


async def test_mym_round_trip_over_rest_realizes_555(client: Client) -> None:
    await client.login()
    acct = await client.account_id()
    await client.control("price", {"contractId": MYM, "price": 49909, "bestAsk": 49909})
    buy = {"accountId": acct, "contractId": MYM, "type": 2, "side": 0, "size": 15}
    assert (await client.api("Order/place", buy))["success"]
    await client.control("price", {"contractId": MYM, "price": 49983, "bestBid": 49983})
    closed = await client.api("Position/closeContract", {"accountId": acct, "contractId": MYM})
    assert closed == {"success": True, "errorCode": 0, "errorMessage": None}
    search = {"accountId": acct, "startTimestamp": "2026-01-01T00:00:00Z"}
    trades = (await client.api("Trade/search", search))["trades"]
    assert [t["profitAndLoss"] for t in trades] == [None, 555]
    assert trades[0]["fees"] == 5.55 and trades[0]["commissions"] == 3.75
    (account,) = (await client.api("Account/search", {"onlyActiveAccounts": True}))["accounts"]
    assert account["balance"] == 50000 + 555 - 2 * (5.55 + 3.75)


async def test_zb_short_stopped_out_realizes_minus_468_75(client: Client) -> None:
    await client.login()
    acct = await client.account_id()
    zb = "CON.F.US.USA.M26"
    await client.control("price", {"contractId": zb, "price": 113.46875, "bestBid": 113.46875})
    sell = {"accountId": acct, "contractId": zb, "type": 2, "side": 1, "size": 15}
    assert (await client.api("Order/place", sell))["success"]
    stop = {"accountId": acct, "contractId": zb, "type": 4, "side": 0, "size": 15,
            "stopPrice": 113.5}  # fmt: skip
    assert (await client.api("Order/place", stop))["success"]
    await client.control("price", {"contractId": zb, "price": 113.5})
    state = await client.control("state", method="GET")
    assert [t["profitAndLoss"] for t in state["trades"]] == [None, -468.75]
    assert state["positions"] == []


async def test_partial_close_and_open_position_model(client: Client) -> None:
    await client.login()
    acct = await client.account_id()
    buy = {"accountId": acct, "contractId": MYM, "type": 2, "side": 0, "size": 5}
    await client.api("Order/place", buy)
    part = {"accountId": acct, "contractId": MYM, "size": 2}
    assert (await client.api("Position/partialCloseContract", part))["success"]
    (pos,) = (await client.api("Position/searchOpen", {"accountId": acct}))["positions"]
    assert set(pos) == {"id", "accountId", "contractId", "contractDisplayName",
                        "creationTimestamp", "type", "size", "averagePrice"}  # fmt: skip
    assert (pos["type"], pos["size"], pos["contractDisplayName"]) == (1, 3, "MYMM26")
    too_big = await client.api("Position/partialCloseContract", {**part, "size": 9})
    assert too_big["errorCode"] == 5


async def test_bracket_children_are_hidden_from_rest_searches(client: Client) -> None:
    await client.login()
    acct = await client.account_id()
    entry = {"accountId": acct, "contractId": MYM, "type": 1, "side": 0, "size": 1,
             "limitPrice": 40000, "customTag": "B",
             "stopLossBracket": {"ticks": -10, "type": 4},
             "takeProfitBracket": {"ticks": 20, "type": 1}}  # fmt: skip
    placed = await client.api("Order/place", entry)
    oid = placed["orderId"]
    open_ = (await client.api("Order/searchOpen", {"accountId": acct}))["orders"]
    assert [o["id"] for o in open_] == [oid]
    assert open_[0]["stopPrice"] is None  # REST keeps explicit nulls
    state = await client.control("state", method="GET")
    assert [(o["customTag"], o["status"]) for o in state["orders"]] == [
        ("B", 1), ("B-SL", 8), ("B-TP", 8)
    ]  # fmt: skip
    await client.control("price", {"contractId": MYM, "price": 40000})
    by_id = await client.api("Order/searchById", {"accountId": acct, "orderId": oid + 2})
    assert (by_id["order"]["status"], by_id["order"]["limitPrice"]) == (1, 40020)


async def test_modify_moves_a_limit_and_it_fills(client: Client) -> None:
    await client.login()
    acct = await client.account_id()
    await client.control("price", {"contractId": MYM, "price": 1000})
    sell = {"accountId": acct, "contractId": MYM, "type": 1, "side": 1, "size": 1,
            "limitPrice": 1010}  # fmt: skip
    placed = await client.api("Order/place", sell)
    oid = placed["orderId"]
    moved = await client.api("Order/modify", {"accountId": acct, "orderId": oid,
                                              "limitPrice": 1000, "size": None})  # fmt: skip
    assert moved["success"]
    order = (await client.api("Order/searchById", {"accountId": acct, "orderId": oid}))["order"]
    assert (order["status"], order["filledPrice"]) == (2, 1000)
    assert (await client.api("Order/modify", {"accountId": acct, "orderId": 7}))["errorCode"] == 2
