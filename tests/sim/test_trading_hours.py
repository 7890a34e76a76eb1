"""Trading-hours rejections (``trading_hours``, API doc §8.5): outside CME Globex hours an order
is refused with code 5 and nothing created, closes with the close codes; off by default."""

from __future__ import annotations

from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any

import pytest
from typer.testing import CliRunner

from risk_manager.cli.main import app
from risk_manager.sim.server import SimSettings

from .conftest import FakeClock, logged_in

MYM = "CON.F.US.MYM.M26"
OPEN = datetime(2026, 5, 6, 14, tzinfo=UTC)  # Wednesday 09:00 CDT
HALT = datetime(2026, 5, 6, 21, 30, tzinfo=UTC)  # Wednesday 16:30 CDT, the daily halt
SATURDAY = datetime(2026, 5, 9, 15, tzinfo=UTC)
MEMORIAL_DAY_AFTER_NOON = datetime(2026, 5, 25, 18, tzinfo=UTC)  # 13:00 CDT, closed at 12:00


def _market(acct: int, side: int = 0, size: int = 1) -> dict[str, Any]:
    return {"accountId": acct, "contractId": MYM, "type": 2, "side": side, "size": size}


async def test_orders_outside_the_session_are_refused_with_code_5(
    settings: SimSettings, clock: FakeClock
) -> None:
    async with logged_in(settings, trading_hours=True) as client:
        acct = await client.account_id()
        for when in (HALT, SATURDAY, MEMORIAL_DAY_AFTER_NOON):
            clock.now = when
            await client.login()  # tokens last 24 h
            reply = await client.api("Order/place", _market(acct))
            assert reply == {
                "success": False, "errorCode": 5, "errorMessage": None, "orderId": None
            }, when  # fmt: skip
        assert (await client.control("state", method="GET"))["orders"] == []
        clock.now = OPEN
        await client.login()
        assert (await client.api("Order/place", _market(acct, size=2)))["success"]


async def test_closing_outside_the_session_fails_with_the_close_codes(
    settings: SimSettings, clock: FakeClock
) -> None:
    clock.now = OPEN
    async with logged_in(settings, trading_hours=True) as client:
        acct = await client.account_id()
        assert (await client.api("Order/place", _market(acct, size=2)))["success"]
        clock.now = SATURDAY
        await client.login()
        body = {"accountId": acct, "contractId": MYM}
        partial = await client.api("Position/partialCloseContract", {**body, "size": 1})
        assert (partial["errorCode"], partial["errorMessage"]) == (6, None)  # §5.15
        close = await client.api("Position/closeContract", body)
        assert (close["errorCode"], close["errorMessage"]) == (5, None)
        (pos,) = (await client.api("Position/searchOpen", {"accountId": acct}))["positions"]
        assert pos["size"] == 2


async def test_off_by_default_the_market_never_closes(
    settings: SimSettings, clock: FakeClock
) -> None:
    clock.now = SATURDAY
    async with logged_in(settings) as client:
        assert (await client.api("Order/place", _market(await client.account_id())))["success"]


def test_cli_flags_reach_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[SimSettings] = []

    def fake_run(settings: SimSettings, on_ready: object) -> Coroutine[Any, Any, None]:
        seen.append(settings)

        async def nothing() -> None:
            return None

        return nothing()

    monkeypatch.setattr("risk_manager.cli.sim.run_sim", fake_run)
    flags = ["sim", "--trading-hours", "--partial-fills", "2", "--unsigned-bracket-ticks"]
    result = CliRunner().invoke(app, flags)
    assert result.exit_code == 0, result.output
    assert CliRunner().invoke(app, ["sim"]).exit_code == 0
    chosen, default = seen
    assert (chosen.trading_hours, chosen.partial_fills, chosen.unsigned_bracket_ticks) == (
        True, 2, True
    )  # fmt: skip
    assert (default.trading_hours, default.partial_fills, default.unsigned_bracket_ticks) == (
        False, None, False
    )  # fmt: skip
    assert CliRunner().invoke(app, ["sim", "--partial-fills", "0"]).exit_code != 0
