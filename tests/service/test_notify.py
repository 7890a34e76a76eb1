"""The systemd notify protocol against a fake ``NOTIFY_SOCKET`` (a real unix datagram socket
bound by the test): states arrive as sent, nothing is sent outside systemd, and the watchdog
fed from the event loop falls silent while the loop is blocked."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from pathlib import Path

import pytest

from risk_manager.service.notify import Notifier, watchdog
from support.fake_systemd import FakeSystemd

pytestmark = pytest.mark.skipif(not hasattr(socket, "AF_UNIX"), reason="no unix sockets")


def wait_for(condition: object, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.01)


def test_states_arrive_as_one_datagram_each(systemd: FakeSystemd) -> None:
    notifier = Notifier({"NOTIFY_SOCKET": str(systemd.path)})
    assert notifier.notify("READY=1", "STATUS=guarding 2 account(s)")
    assert notifier.notify("STOPPING=1")
    wait_for(lambda: len(systemd.received) == 2)
    assert systemd.states() == ["READY=1\nSTATUS=guarding 2 account(s)", "STOPPING=1"]


def test_outside_systemd_nothing_is_sent_and_no_watchdog_runs() -> None:
    notifier = Notifier({})
    assert not notifier.enabled
    assert notifier.notify("READY=1") is False
    assert notifier.watchdog_interval() is None


def test_the_watchdog_interval_is_a_third_of_what_systemd_asks(systemd: FakeSystemd) -> None:
    env = {"NOTIFY_SOCKET": str(systemd.path), "WATCHDOG_USEC": "30000000"}
    assert Notifier(env).watchdog_interval() == 10.0
    # WATCHDOG_PID names another process (a child that inherited the environment): not ours.
    other = env | {"WATCHDOG_PID": str(os.getpid() + 1)}
    assert Notifier(other).watchdog_interval() is None
    assert Notifier(env | {"WATCHDOG_PID": str(os.getpid())}).watchdog_interval() == 10.0


def test_a_dead_socket_is_reported_not_raised(tmp_path: Path) -> None:
    notifier = Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone.sock")})
    assert notifier.notify("READY=1") is False


async def test_the_watchdog_falls_silent_while_the_event_loop_is_blocked(
    systemd: FakeSystemd,
) -> None:
    notifier = Notifier({"NOTIFY_SOCKET": str(systemd.path)})
    async with watchdog(notifier, interval=0.02):
        deadline = time.monotonic() + 10
        while len(systemd.received) < 3:  # fed while the loop runs
            assert time.monotonic() < deadline, "no watchdog ping"
            await asyncio.sleep(0.01)
        blocked_at = time.monotonic()
        time.sleep(0.6)  # noqa: ASYNC251  # the stuck loop under test: blocking on purpose
        unblocked_at = time.monotonic()
        fed_before = len(systemd.received)
        while len(systemd.received) <= fed_before:  # and fed again once it runs
            assert time.monotonic() < unblocked_at + 10, "the watchdog never resumed"
            await asyncio.sleep(0.01)
    assert set(systemd.states()) == {"WATCHDOG=1"}
    # A ping sent just before the block may be read a moment later; none in the rest of it.
    during = [t for t, _ in systemd.received if blocked_at + 0.1 < t < unblocked_at]
    assert during == [], f"{len(during)} ping(s) while the loop was blocked"
