"""The web dashboard through the real product: the simulator, the daemon on a SQLite file and
headless Chromium. The page loads and shows the account; a loss made by trading on the
simulator locks it, and the lock (with its countdown) and the flatten appear without a reload."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from e2e.helpers import BUY, SimTrader, config_text, wait_for
from risk_manager.config.loader import parse_config
from risk_manager.runtime.bootstrap import bootstrap
from risk_manager.sim.server import SimSettings, running_sim
from support.daemons import serving

playwright_api = pytest.importorskip("playwright.async_api", reason="playwright is not installed")

RULES = """
  daily_realized_loss: {enabled: true, limit: 100}
  max_contracts_per_instrument: {enabled: true, limits: {MNQ: 5}}
  no_stop_loss_grace: {enabled: true, grace: 10m}
"""
HUBS = {"backoff_base": 0.05, "backoff_cap": 0.2, "healthy_after": 0.5}


async def test_a_lock_made_on_the_simulator_appears_live(page: Any, tmp_path: Path) -> None:
    expect = playwright_api.expect
    async with running_sim(SimSettings(port=0)) as sim, aiohttp.ClientSession() as session:
        trader = SimTrader(session, sim.url)
        await trader.login()
        config = parse_config(config_text(sim.url, tmp_path / "rm.sqlite", RULES), env={})
        daemon = bootstrap(config, hub_options=HUBS)
        async with contextlib.aclosing(daemon), serving(daemon, config) as url:
            await daemon.start()
            await page.goto(url)
            card = page.locator(f'[data-account="{trader.account_id}"]')
            await expect(card).to_be_visible()
            await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
            await expect(card.locator(".badge-trading")).to_have_text("TRADING")
            await expect(card.locator(".lock")).to_have_count(0)
            await expect(card.locator(".kpi.room .value")).to_have_text("100.00")
            # A rule with no number shows its state, not an empty bar.
            grace = card.locator('[data-rule="no_stop_loss_grace"]')
            await expect(grace.locator(".gauge")).to_have_count(0)
            await expect(grace.locator(".pill")).to_be_visible()
            off = card.locator('.rules-off [data-rule="trailing_drawdown"]')
            await expect(off).to_be_visible()  # a rule that is off: named on the "off" line
            await page.evaluate("window.__marker = 'no-reload'")

            await trader.limit("MNQ", BUY, 1, "20000")  # a resting order the flatten cancels
            await trader.round_trip("MNQ", BUY, 2, "20950")  # about −200 realized: past −100

            await expect(card.locator(".badge-locked")).to_have_text("LOCKED")
            lock = card.locator(".lock")
            await expect(lock).to_have_count(1)
            await expect(lock.locator(".rule")).to_have_text("daily_realized_loss")
            await expect(lock.locator(".countdown")).to_have_text(
                re.compile(r"^ends in \d+ (h \d\d m|m \d\d s|s) · at (\w{3} )?\d\d:\d\d CT$")
            )
            await expect(card.locator(".kpi.room .value")).to_have_text("none — locked")
            rule = card.locator('[data-rule="daily_realized_loss"]')
            await expect(rule.locator(".gauge > div")).to_have_attribute(
                "style", re.compile(r"width:\s*100(\.0)?%")
            )
            # The flatten shows in the log, its outcome updates in place, and the page goes flat.
            flatten = card.locator(".log > div", has_text=re.compile(r"^\S+\s*flatten · "))
            await expect(flatten).to_contain_text("daily_realized_loss")
            await expect(flatten).to_contain_text(re.compile(r"· confirmed$"))
            await expect(card.locator("tbody tr")).to_have_count(0)  # no position, no order
            await wait_for(_no_working_orders(trader), "the resting order cancelled")
            assert await page.evaluate("window.__marker") == "no-reload"
            assert page.errors == []


def _no_working_orders(trader: SimTrader) -> Any:
    async def probe() -> bool:
        return not await trader.working_orders()

    return probe
