from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from risk_manager.api import demo
from risk_manager.api.demo_server import running_demo_api
from risk_manager.api.memory import MemoryReadModel
from risk_manager.api.read_model import iso
from risk_manager.api.server import running_api
from risk_manager.runtime.metrics import Metrics

playwright_api = pytest.importorskip("playwright.async_api", reason="playwright is not installed")

LOCKED, CALM = 20258288, 20258301


async def test_page_shows_accounts_and_a_new_lock_appears_without_reload(page: Any) -> None:
    now = datetime.now(UTC)
    async with running_demo_api(now=now) as (api, model):
        await page.goto(api.url)
        expect = playwright_api.expect
        calm = page.locator(f'[data-account="{CALM}"]')
        locked = page.locator(f'[data-account="{LOCKED}"]')
        await expect(calm).to_be_visible()
        await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
        await expect(locked.locator(".badge-locked")).to_have_text("LOCKED")
        await expect(locked.locator(".kpi.room .value")).to_have_text("100.60")
        await expect(locked.locator("svg path.curve")).to_have_count(1)
        await expect(locked.locator("tbody tr")).to_have_count(3)  # 1 position + 2 orders
        await expect(locked.locator(".lock .countdown")).to_have_text(re.compile(r"^4:\d\d$"))
        await expect(calm.locator(".badge-trading")).to_be_visible()
        await expect(calm.locator(".lock")).to_have_count(0)
        await page.evaluate("window.__marker = 'no-reload'")

        model.update_account(
            CALM,
            locked=True,
            locks=[
                {
                    "id": 99,
                    "rule": "cooldown_after_loss",
                    "kind": "hard",
                    "reason": "cooldown_after_loss: closing fill lost 310.00 ≥ 300.00; 15m",
                    "created_at": iso(now),
                    "ends_at": iso(now + timedelta(minutes=15)),
                    "seconds_left": 900,
                }
            ],
        )
        lock = calm.locator(".lock")
        await expect(lock).to_have_count(1)
        await expect(lock.locator(".rule")).to_have_text("cooldown_after_loss")
        await expect(calm.locator(".badge-locked")).to_have_text("LOCKED")
        first = await lock.locator(".countdown").text_content()
        assert first is not None and re.fullmatch(r"1[45]:\d\d", first)
        # the countdown ticks by itself
        await expect(lock.locator(".countdown")).not_to_have_text(first, timeout=3000)
        assert await page.evaluate("window.__marker") == "no-reload"
        assert page.errors == []


async def test_page_reconnects_after_the_daemon_restarts(page: Any) -> None:
    now = datetime.now(UTC)
    model = MemoryReadModel()
    model.put_account(demo.calm_account(now))
    expect = playwright_api.expect
    async with running_api(model, Metrics(), port=0) as api:
        port = api.port
        await page.goto(api.url)
        await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
    await expect(page.locator("#conn")).to_have_attribute("data-state", "down")
    await expect(page.locator("#conn")).to_contain_text("retrying")
    await expect(page.locator("body")).to_have_class(re.compile(r"\bstale\b"))  # dimmed
    model.update_account(CALM, name="RENAMED-WHILE-DOWN")
    async with running_api(model, Metrics(), port=port):
        await expect(page.locator("#conn")).to_have_attribute("data-state", "live", timeout=15000)
        await expect(page.locator(f'[data-account="{CALM}"] .name')).to_have_text(
            "RENAMED-WHILE-DOWN"
        )
        await expect(page.locator("body")).not_to_have_class(re.compile(r"\bstale\b"))


async def test_unknown_values_render_as_unknown_not_zero(page: Any) -> None:
    model = MemoryReadModel()
    model.put_account(
        {
            "id": 5, "name": "BARE", "balance": "50000.00", "can_trade": False, "locked": True,
            "pnl": {"day_realized": "0.00", "week_realized": "0.00", "unrealized": None,
                    "net": "0.00", "day_peak_net": "0.00"},
            "pnl_curve": [], "loss_limit": None, "room_to_loss_lock": None,
            "positions": [{"contract_id": "CON.F.US.EP.Z26", "symbol": "ES", "side": "short",
                           "size": 1, "average_price": "6335.25", "mark": None,
                           "unrealized": None}],
            "orders": [], "rules": [],
            "locks": [{"id": 1, "rule": "auth_loss_guard", "kind": "external",
                       "reason": "broker set canTrade false", "created_at": "2026-03-10T19:00:00Z",
                       "ends_at": None, "seconds_left": None}],
            "trading_day": "2026-03-11",
        }
    )  # fmt: skip
    expect = playwright_api.expect
    async with running_api(model, Metrics(), port=0) as api:
        await page.goto(api.url)
        card = page.locator('[data-account="5"]')
        await expect(card).to_be_visible()
        await expect(card.locator(".kpi").nth(3).locator(".value")).to_have_text("unknown")
        await expect(card.locator(".kpi.room .value")).to_have_text("—")
        await expect(card.locator(".badge-external")).to_be_visible()
        await expect(card.locator(".lock .countdown")).to_have_text("until cleared")
        await expect(card.locator("tbody tr td").nth(5)).to_have_text("unknown")
        await expect(card.locator(".chart")).to_contain_text("no P&L yet today")
        assert page.errors == []


async def test_a_pending_clearing_and_a_pending_loosening_are_shown(page: Any) -> None:
    now = datetime.now(UTC)
    async with running_demo_api(now=now) as (api, model):
        await page.goto(api.url)
        calm = page.locator(f'[data-account="{CALM}"]')
        expect = playwright_api.expect
        await expect(calm).to_be_visible()
        model.update_account(
            CALM,
            locked=True,
            locks=[
                {
                    "id": 7,
                    "rule": "trailing_drawdown",
                    "kind": "hard",
                    "reason": "trailing_drawdown: balance at the floor",
                    "created_at": iso(now),
                    "ends_at": None,
                    "seconds_left": None,
                    "clearing_at": iso(now + timedelta(minutes=15)),
                    "cleared_by": "admin",
                    "clearing": "clearing at 14:35 CST (in 15 m)",
                }
            ],
            pending_loosenings=[
                {
                    "rule": "daily_net_loss",
                    "before": {"limit": "1000"},
                    "after": {"limit": "2000"},
                    "due_at": iso(now + timedelta(minutes=30)),
                    "text": "daily_net_loss limit 1000 → 2000 at 14:50 CST",
                }
            ],
        )
        await expect(calm.locator(".lock .clearing")).to_have_text(
            "clearing at 14:35 CST (in 15 m)"
        )
        await expect(calm.locator(".pending-loosening")).to_have_text(
            "pending: daily_net_loss limit 1000 → 2000 at 14:50 CST"
        )
        assert page.errors == []
