"""SIGINT and SIGTERM set the stop event, through the loop's handler where it has one (POSIX)
and through ``signal.signal`` where it does not (Windows' loops raise NotImplementedError);
the previous handlers come back afterwards."""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import pytest

from risk_manager.stop_signals import stop_on_signals

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="os.kill delivers SIGTERM on POSIX")


async def _stopped_by(sig: signal.Signals) -> bool:
    stop = asyncio.Event()
    with stop_on_signals(stop):
        os.kill(os.getpid(), sig)
        await asyncio.wait_for(stop.wait(), 5)
    return stop.is_set()


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
async def test_a_stop_signal_sets_the_event(sig: signal.Signals) -> None:
    before = signal.getsignal(sig)
    assert await _stopped_by(sig)
    assert signal.getsignal(sig) == before


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
async def test_without_loop_signal_handlers_the_plain_handler_stops_it(
    sig: signal.Signals, monkeypatch: pytest.MonkeyPatch
) -> None:
    loop = asyncio.get_running_loop()

    def unsupported(*_: object) -> None:
        raise NotImplementedError  # what Windows' event loops do

    monkeypatch.setattr(loop, "add_signal_handler", unsupported)
    before = signal.getsignal(sig)
    assert await _stopped_by(sig)
    assert signal.getsignal(sig) == before
