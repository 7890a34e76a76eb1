"""Bracket tick signs (API doc §5.6): signed offsets from the entry fill, a wrong sign refused
with code 2 and the live message, and the ``unsigned_bracket_ticks`` switch."""

from __future__ import annotations

from typing import Any

from risk_manager.sim.server import SimSettings

from .conftest import Client, logged_in

MYM = "CON.F.US.MYM.M26"


def _entry(acct: int, side: int, sl: int, tp: int, tag: str) -> dict[str, Any]:
    return {"accountId": acct, "contractId": MYM, "type": 2, "side": side, "size": 1,
            "customTag": tag, "stopLossBracket": {"ticks": sl, "type": 4},
            "takeProfitBracket": {"ticks": tp, "type": 1}}  # fmt: skip


async def test_a_wrong_sign_is_refused_with_code_2_and_no_order(client: Client) -> None:
    await client.login()
    acct = await client.account_id()
    long_sl, short_tp = "less than zero when longing.", "less than zero when going short."
    cases = [
        (0, 40, 80, f"Invalid stop loss ticks (40). Ticks should be {long_sl}"),
        (1, 40, 80, f"Invalid take profit ticks (80). Ticks should be {short_tp}"),
        (1, -50, -80,
         "Invalid stop loss ticks (-50). Stop loss tick value should be at least 4 ticks."),
        (0, -40, -80,
         "Invalid take profit ticks (-80). Ticks should be greater than zero when longing."),
    ]  # fmt: skip
    for n, (side, sl, tp, message) in enumerate(cases):
        reply = await client.api("Order/place", _entry(acct, side, sl, tp, f"W{n}"))
        assert reply == {
            "success": False, "errorCode": 2, "errorMessage": message, "orderId": None
        }, (side, sl, tp)  # fmt: skip
    assert (await client.control("state", method="GET"))["orders"] == []


async def test_signed_ticks_place_children_on_the_right_side(client: Client) -> None:
    await client.login()
    acct = await client.account_id()
    await client.control("price", {"contractId": MYM, "price": 1000, "bestBid": 1000})
    short = await client.api("Order/place", _entry(acct, 1, 10, -20, "S"))
    assert short["success"], short
    orders = {o["customTag"]: o for o in (await client.control("state", method="GET"))["orders"]}
    assert (orders["S-SL"]["stopPrice"], orders["S-SL"]["trailDistance"]) == (1010, 10)
    assert (orders["S-TP"]["limitPrice"], orders["S-TP"]["trailDistance"]) == (980, -20)


async def test_the_unsigned_switch_accepts_either_sign_and_normalises(
    settings: SimSettings,
) -> None:
    async with logged_in(settings, unsigned_bracket_ticks=True) as client:
        acct = await client.account_id()
        await client.control("price", {"contractId": MYM, "price": 1000, "bestAsk": 1000})
        placed = await client.api("Order/place", _entry(acct, 0, 10, 20, "U"))  # unsigned long
        assert placed["success"], placed
        state = await client.control("state", method="GET")
        orders = {o["customTag"]: o for o in state["orders"]}
        assert (orders["U-SL"]["stopPrice"], orders["U-SL"]["trailDistance"]) == (990, -10)
        assert (orders["U-TP"]["limitPrice"], orders["U-TP"]["trailDistance"]) == (1020, 20)
