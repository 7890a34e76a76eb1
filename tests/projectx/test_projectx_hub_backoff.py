"""The hub's reconnect backoff (projectx/hub_connection.py): a low cap while something is at
stake, asked anew at every reconnect; only a connection that stayed up resets the doubling."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import TypedDict

import pytest

from projectx.px_fakes import FakeHubServer, FakeTokens
from risk_manager.projectx.backoff import backoff_delay
from risk_manager.projectx.hub_connection import BACKOFF_CAP, HOT_BACKOFF_CAP, HubConnection
from risk_manager.projectx.hubs import UserHub
from support.polling import eventually


# Fast numbers, same shape as the defaults: the hot cap far below the normal one.
class Backoff(TypedDict):
    backoff_base: float
    backoff_cap: float
    hot_backoff_cap: float
    invoke_timeout: float


QUICK: Backoff = {
    "backoff_base": 0.05,
    "backoff_cap": 30.0,
    "hot_backoff_cap": 0.2,
    "invoke_timeout": 2.0,
}


def _hub(hot: Callable[[], bool] | None = None, **options: float) -> UserHub:
    return UserHub("http://127.0.0.1:9/hubs/user", FakeTokens(), lambda m: None, hot=hot, **options)


async def test_the_cap_is_the_hot_one_exactly_while_something_is_at_stake() -> None:
    at_stake = [False]
    hub = _hub(lambda: at_stake[0])
    hub.failures = 20  # far past both caps
    assert hub.reconnect_cap() == BACKOFF_CAP == 30.0
    assert hub.reconnect_delay(jitter=1.0) == 30.0
    at_stake[0] = True  # asked anew each time: not a flag set once
    assert hub.reconnect_cap() == HOT_BACKOFF_CAP == 2.0
    assert (hub.reconnect_delay(jitter=0.0), hub.reconnect_delay(jitter=1.0)) == (1.0, 2.0)
    at_stake[0] = False
    assert hub.reconnect_delay(jitter=1.0) == 30.0


async def test_without_a_hot_callable_the_normal_cap_holds() -> None:
    hub = _hub(None)
    hub.failures = 20
    assert hub.reconnect_cap() == BACKOFF_CAP


async def test_a_hot_callable_that_raises_counts_as_at_stake(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken() -> bool:
        raise RuntimeError("engine view failed")

    caplog.set_level(logging.WARNING)
    assert _hub(broken).reconnect_cap() == HOT_BACKOFF_CAP
    assert "assuming so" in caplog.text and "engine view failed" in caplog.text


async def test_the_hot_cap_is_never_above_the_normal_one() -> None:
    assert _hub(lambda: True, backoff_cap=0.2).reconnect_cap() == 0.2


def test_the_backoff_survives_any_number_of_failures() -> None:
    # 2.0 ** 1024 overflows: a hub refused for half an hour at the hot cap got there.
    assert backoff_delay(5000, base=0.5, cap=2.0, rand=lambda: 1.0) == 2.0
    assert backoff_delay(10**9, base=1.0, cap=30.0, rand=lambda: 0.0) == 15.0


async def _drop(server: FakeHubServer) -> None:
    await server.drop("user")


async def _garbage(server: FakeHubServer) -> None:
    for ws in server.sockets.get("user", []):
        if not ws.closed:
            await ws.send_str("<html>502 Bad Gateway</html>\x1e")  # not a SignalR record


@pytest.mark.parametrize("end", [_drop, _garbage], ids=["flapping", "hostile-frames"])
async def test_a_hub_ended_at_once_again_and_again_waits_no_longer_than_the_hot_cap(
    hub_server: FakeHubServer,
    caplog: pytest.LogCaptureFixture,
    end: Callable[[FakeHubServer], Awaitable[None]],
) -> None:
    caplog.set_level(logging.WARNING, logger="risk_manager.projectx.hub_connection")
    async with UserHub(
        hub_server.hub_url("user"), FakeTokens(), lambda m: None, hot=lambda: True, **QUICK
    ) as hub:
        while hub.connects < 12:  # uncapped, the 12th wait would be 0.05 * 2**11 = 102 s
            await asyncio.wait_for(hub.connected.wait(), 5)
            await end(hub_server)
            await eventually(lambda: not hub.connected.is_set())
        assert hub.failures >= 11  # none of them counted as healthy ...
    waits = [float(w) for w in re.findall(r"reconnecting in ([\d.]+)s", caplog.text)]
    assert len(waits) >= 11 and max(waits) <= 0.2  # ... yet no wait passed the hot cap


async def test_a_long_wait_is_cut_short_once_something_is_at_stake() -> None:
    at_stake = [False]
    options = QUICK | {"backoff_base": 20.0}  # the first wait is 10 to 20 s
    async with _hub(lambda: at_stake[0], **options) as hub:
        await eventually(lambda: hub.attempts == 1 and hub.failures == 1)
        at_stake[0] = True
        await eventually(lambda: hub.attempts >= 2, within=2.0)


async def test_a_connection_that_never_got_past_the_handshake_is_not_healthy(
    hub_server: FakeHubServer,
) -> None:
    hub_server.stall_handshake = True
    async with HubConnection(
        "user",
        hub_server.hub_url("user"),
        FakeTokens(),
        lambda m: None,
        connect_timeout=0.2,
        healthy_after=0.1,  # shorter than each stalled attempt
        **QUICK,
    ) as hub:
        await eventually(lambda: hub.attempts >= 4)
        assert hub.connects == 0 and hub.failures >= 3
