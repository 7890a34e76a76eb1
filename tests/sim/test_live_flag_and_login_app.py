"""``live: true`` on practice/evaluation accounts (API doc §12b) and ``Auth/loginApp`` (§3.2),
over a real socket."""

from __future__ import annotations

from risk_manager.sim.server import DEFAULT_API_KEY

from .conftest import Client

MYM = "CON.F.US.MYM.M26"
BARS = {"contractId": MYM, "startTime": "2026-05-06T12:00:00Z",
        "endTime": "2026-05-06T13:00:00Z", "unit": 2, "unitNumber": 1, "limit": 5,
        "includePartialBar": False}  # fmt: skip


async def test_live_true_lists_no_contracts_and_finds_no_bars(client: Client) -> None:
    await client.login()
    for path, body in (
        ("Contract/search", {"searchText": "MYM"}),
        ("Contract/available", {}),
    ):
        live = await client.api(path, {**body, "live": True})
        assert (live["success"], live["contracts"]) == (True, []), path
        sim = await client.api(path, {**body, "live": False})
        assert sim["contracts"], path  # the simulated data is still there
    bars = await client.api("History/retrieveBars", {**BARS, "live": True})
    assert (bars["success"], bars["errorCode"], bars["bars"]) == (False, 1, None)
    assert len((await client.api("History/retrieveBars", {**BARS, "live": False}))["bars"]) == 5


async def test_login_app_issues_a_working_token(client: Client) -> None:
    body = {"userName": "DEMO", "password": DEFAULT_API_KEY, "deviceId": "d-1", "appId": "a-1",
            "verifyKey": "v-1"}  # fmt: skip
    reply = await client.api("Auth/loginApp", body)
    assert reply["success"] and reply["errorCode"] == 0 and reply["errorMessage"] is None
    client.token = reply["token"]
    assert (await client.api("Account/search", {"onlyActiveAccounts": True}))["accounts"]


async def test_login_app_refuses_a_wrong_password_and_a_missing_field(client: Client) -> None:
    body = {"userName": "demo", "password": "nope", "deviceId": "d", "appId": "a",
            "verifyKey": "v"}  # fmt: skip
    wrong = await client.api("Auth/loginApp", body)
    assert wrong == {"success": False, "errorCode": 3, "errorMessage": None, "token": None}
    missing = await client.raw(
        "/api/Auth/loginApp", {k: v for k, v in body.items() if k != "appId"}
    )
    assert missing.status == 400
    assert "appId" in (await missing.json())["errors"]
