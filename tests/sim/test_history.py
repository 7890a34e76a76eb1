"""History over a real socket (API doc §5.5, §5.9, §5.16): no bars while CME Globex is closed
(with ``trading_hours``), no intraday bars of long-expired months, and the order and trade
searches keep to their windows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from risk_manager.sim.server import SimSettings

from .conftest import Client, FakeClock, logged_in

MYM = "CON.F.US.MYM.M26"
MYM_H27 = "CON.F.US.MYM.H27"  # the front month in December 2026
MINUTE, HOUR, DAY = 2, 3, 4


def _bars(cid: str, start: datetime, end: datetime, unit: int, limit: int = 20_000) -> Any:
    return {"contractId": cid, "live": False, "startTime": start.isoformat(),
            "endTime": end.isoformat(), "unit": unit, "unitNumber": 1, "limit": limit,
            "includePartialBar": False}  # fmt: skip


def _starts(reply: dict[str, Any]) -> list[datetime]:
    assert reply["success"], reply
    return [datetime.fromisoformat(b["t"]) for b in reply["bars"]]


def _utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


async def test_no_minute_bars_over_the_weekend(settings: SimSettings, clock: FakeClock) -> None:
    clock.now = _utc(2026, 5, 11, 15)  # Monday
    async with logged_in(settings, trading_hours=True) as client:
        # Friday 20:00 UTC .. Sunday 23:30 UTC; CDT: closes Fri 21:00 UTC, opens Sun 22:00 UTC
        body = _bars(MYM, _utc(2026, 5, 8, 20), _utc(2026, 5, 10, 23, 30), MINUTE)
        starts = _starts(await client.api("History/retrieveBars", body))
    assert len(starts) == 60 + 90
    assert starts[0] == _utc(2026, 5, 10, 23, 29) and starts[-1] == _utc(2026, 5, 8, 20)
    assert starts[89:91] == [_utc(2026, 5, 10, 22), _utc(2026, 5, 8, 20, 59)]


async def test_no_hour_bars_over_a_holiday_or_the_daily_halt(
    settings: SimSettings, clock: FakeClock
) -> None:
    clock.now = _utc(2026, 12, 30, 12)
    async with logged_in(settings, trading_hours=True) as client:
        # Christmas Eve closes 12:15 CST (18:15 UTC); Christmas closed; Sunday opens 23:00 UTC
        body = _bars(MYM_H27, _utc(2026, 12, 24), _utc(2026, 12, 28), HOUR)
        christmas = _starts(await client.api("History/retrieveBars", body))
        # Tuesday's daily halt: 16:00-17:00 CST is 22:00-23:00 UTC
        halt = _bars(MYM_H27, _utc(2026, 12, 29, 20), _utc(2026, 12, 30), HOUR)
        tuesday = _starts(await client.api("History/retrieveBars", halt))
    assert christmas == [_utc(2026, 12, 27, 23)] + [
        _utc(2026, 12, 24, h) for h in range(18, -1, -1)
    ]
    assert tuesday == [_utc(2026, 12, 29, 23), _utc(2026, 12, 29, 21), _utc(2026, 12, 29, 20)]


async def test_without_trading_hours_the_market_never_closes(
    client: Client, clock: FakeClock
) -> None:
    clock.now = _utc(2026, 5, 11, 15)
    await client.login()
    body = _bars(MYM, _utc(2026, 5, 9, 12), _utc(2026, 5, 9, 13), MINUTE)  # a Saturday hour
    assert len(_starts(await client.api("History/retrieveBars", body))) == 60


async def test_no_intraday_bars_of_a_long_expired_month(client: Client, clock: FakeClock) -> None:
    await client.login()  # the clock is 2026-05-06
    end = clock.now
    expired = "CON.F.US.MYM.H25"
    for unit, back in ((MINUTE, timedelta(hours=1)), (HOUR, timedelta(days=1))):
        reply = await client.api("History/retrieveBars", _bars(expired, end - back, end, unit))
        assert (reply["success"], reply["bars"]) == (True, []), unit
    daily = _bars(expired, end - timedelta(days=10), end, DAY)
    assert len(_starts(await client.api("History/retrieveBars", daily))) == 9  # Apr 27..May 5
    recent = "CON.F.US.MYM.J26"  # April 2026 ended 5 days ago: still kept
    minutes = _bars(recent, end - timedelta(hours=1), end, MINUTE)
    assert len(_starts(await client.api("History/retrieveBars", minutes))) == 59  # whole ones


async def test_order_and_trade_searches_keep_to_their_windows(
    client: Client, clock: FakeClock
) -> None:
    await client.login()
    acct = await client.account_id()
    placed: list[tuple[datetime, int]] = []
    for side in (0, 1, 0):
        order = {"accountId": acct, "contractId": MYM, "type": 2, "side": side, "size": 1}
        placed.append((clock.now, (await client.api("Order/place", order))["orderId"]))
        clock.advance(minutes=1)
    (t0, _), (t1, middle), (t2, last) = placed
    window = {"accountId": acct, "startTimestamp": t1.isoformat(), "endTimestamp": t1.isoformat()}
    orders = (await client.api("Order/search", window))["orders"]
    trades = (await client.api("Trade/search", window))["trades"]
    assert [o["id"] for o in orders] == [middle]
    assert [t["orderId"] for t in trades] == [middle]
    open_ended = {"accountId": acct, "startTimestamp": (t2 - timedelta(seconds=1)).isoformat()}
    assert [o["id"] for o in (await client.api("Order/search", open_ended))["orders"]] == [last]
    assert [t["orderId"] for t in (await client.api("Trade/search", open_ended))["trades"]] == [
        last
    ]
    before = {"accountId": acct, "startTimestamp": (t0 - timedelta(days=1)).isoformat(),
              "endTimestamp": (t0 - timedelta(seconds=1)).isoformat()}  # fmt: skip
    assert (await client.api("Trade/search", before))["trades"] == []
