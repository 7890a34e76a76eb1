"""The daemon's long-running background tasks survive a failed round (a dead task would end
the overflow reconciles or the market subscriptions for the rest of the run)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest

from risk_manager.config.models import Config
from risk_manager.domain.errors import RetryLater
from risk_manager.runtime import daemon as daemon_module
from risk_manager.runtime.daemon import Daemon
from support.polling import eventually


def _actor(contracts: Any) -> Any:
    return SimpleNamespace(
        needs_reconcile=True, engine=SimpleNamespace(locks=lambda _: []), contracts=contracts
    )


async def test_housekeeping_goes_on_after_a_failed_reconcile(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(daemon_module, "HOUSEKEEPING_EVERY", 0.01)
    daemon = Daemon(Config.model_validate({}))
    daemon.actors = {1: _actor(set)}
    calls: list[int] = []

    async def reconcile_all() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RetryLater("the gateway is down")

    daemon.reconcile_all = reconcile_all  # type: ignore[method-assign]
    task = asyncio.create_task(daemon._housekeeping())
    try:
        await eventually(lambda: len(calls) >= 2 or task.done())
        assert not task.done(), task
    finally:
        task.cancel()


async def test_market_subscriptions_go_on_after_a_failed_round() -> None:
    daemon = Daemon(Config.model_validate({}))
    answers: list[Any] = [RuntimeError("engine view failed"), {"CON.F.US.MNQ.H26"}]

    def contracts() -> Any:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    daemon.actors = {1: _actor(contracts)}
    task = asyncio.create_task(daemon._market_subscriptions())
    try:
        daemon._changed(1)
        await eventually(lambda: len(answers) == 1 or task.done())
        assert not task.done(), task
        daemon._changed(1)  # the next change looks at the account again
        await eventually(lambda: 1 in daemon._contracts or task.done())
        assert daemon._contracts[1] == {"CON.F.US.MNQ.H26"}
    finally:
        task.cancel()
