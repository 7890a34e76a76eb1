from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from risk_manager.api import demo
from risk_manager.api.demo_server import running_demo_api
from risk_manager.api.memory import MemoryReadModel
from risk_manager.api.read_model import iso
from risk_manager.api.server import STATIC_DIR, running_api
from risk_manager.runtime.metrics import Metrics
from risk_manager.store import Store
from support.history import daemon_over, seed_history

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
        # a countdown that cannot be read as a clock, with the end's time labelled
        await expect(locked.locator(".lock .countdown")).to_have_text(
            re.compile(r"^ends in 4 m \d\d s · at (\w{3} )?\d\d:\d\d CT$")
        )
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
        assert first is not None and re.match(r"ends in 1[45] m \d\d s · at ", first), first
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
        await expect(page.locator("#health")).to_contain_text("daemon ok")
    # The daemon's state is never stale: within two seconds the header says it is gone.
    await expect(page.locator("#health")).to_have_text(
        re.compile(r"^daemon unreachable since \d\d:\d\d:\d\d CT$"), timeout=2000
    )
    await expect(page.locator("#health")).to_have_attribute("data-state", "unreachable")
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
        await expect(page.locator("#health")).to_contain_text("daemon ok")


async def test_a_daemon_that_hangs_is_unreachable_within_two_seconds(page: Any) -> None:
    """A hung daemon closes nothing: the page's watchdog hears no heartbeat and says so."""

    async def silent_stream(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_str('{"type": "snapshot", "accounts": [], "enforcements": []}')
        await asyncio.sleep(30)  # then nothing: no heartbeat, no close
        return ws

    async def index(_: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC_DIR / "index.html")

    app = web.Application()
    app.router.add_get("/", index)
    app.router.add_get("/api/v1/stream", silent_stream)
    app.router.add_static("/static", STATIC_DIR)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        port = runner.addresses[0][1]
        await page.goto(f"http://127.0.0.1:{port}/")
        expect = playwright_api.expect
        await expect(page.locator("#conn")).to_have_attribute("data-state", "live")
        await expect(page.locator("#health")).to_have_attribute(
            "data-state", "unreachable", timeout=2000
        )
    finally:
        await runner.cleanup()


async def test_times_are_labelled_and_switch_to_local_time(page: Any) -> None:
    async with running_demo_api() as (api, _):
        await page.goto(api.url)
        expect = playwright_api.expect
        locked = page.locator(f'[data-account="{LOCKED}"]')
        await expect(page.locator("#tz")).to_have_text("times: CT")
        await expect(locked.locator("h3", has_text="Enforcement log")).to_have_text(
            "Enforcement log (CT)"
        )
        axis = locked.locator(".chart svg text", has_text=" CT")
        await expect(axis).to_have_count(1)  # the curve's last time, labelled
        local: str = await page.evaluate(
            "new Intl.DateTimeFormat([], {timeZoneName: 'short'}).formatToParts(new Date())"
            ".find((p) => p.type === 'timeZoneName').value"
        )
        await page.locator("#tz").click()
        await expect(page.locator("#tz")).to_have_text(f"times: local ({local})")
        await expect(locked.locator("h3", has_text="Enforcement log")).to_have_text(
            f"Enforcement log ({local})"
        )
        await expect(locked.locator(".lock .countdown")).to_contain_text(f" {local}")
        await page.reload()  # remembered
        await expect(page.locator("#tz")).to_have_text(f"times: local ({local})")
        await page.locator("#tz").click()
        await expect(page.locator("#tz")).to_have_text("times: CT")
        assert page.errors == []


async def test_history_lists_yesterdays_lock_and_who_cleared_it(page: Any) -> None:
    async with running_demo_api() as (api, _):
        await page.goto(api.url)
        expect = playwright_api.expect
        history = page.locator("#history")
        await expect(history.locator("h2")).to_have_text("History · last 7 days · times CT")
        rows = history.locator("table.history tbody tr")
        await expect(rows).to_have_count(2)
        yesterday = rows.nth(1)
        await expect(yesterday.locator("td").nth(2)).to_have_text("−1,004.30")
        await expect(yesterday.locator(".hist-lock")).to_have_count(2)
        await expect(yesterday).to_contain_text("daily_realized_loss: realized −1,004.30")
        await expect(yesterday).to_contain_text("ended by its time at")
        await expect(yesterday).to_contain_text("cleared by admin:jo at")
        await expect(yesterday).to_contain_text("(fill was a broker error)")
        await expect(history.locator(".ended-locks > div")).to_have_count(2)
        assert page.errors == []


async def test_unknown_values_render_as_unknown_not_zero(page: Any) -> None:
    model = MemoryReadModel()
    model.put_account(
        {
            "id": 5, "name": "BARE", "balance": "50000.00", "can_trade": False, "locked": True,
            "pnl": {"day_realized": "0.00", "week_realized": "0.00", "unrealized": None,
                    "net": "0.00", "day_peak_net": "0.00"},
            "pnl_curve": [], "loss_limit": "600.00", "room_to_loss_lock": None,
            "room_unknown": "daily_net_loss: no usable mark for CON.F.US.EP.Z26",
            "problems": [{"kind": "stale_mark",
                          "text": "CON.F.US.EP.Z26: no usable mark; P&L unknown"},
                         {"kind": "escalated",
                          "text": "daily_net_loss: flatten failed after 4 attempts"}],
            "positions": [{"contract_id": "CON.F.US.EP.Z26", "symbol": "ES", "side": "short",
                           "size": 1, "average_price": "6335.25", "mark": None,
                           "unrealized": None}],
            "orders": [],
            "rules": [{"key": "daily_net_loss", "id": "RULE-015", "state": "unknown",
                       "value": None, "limit": "600.00", "used": None, "detail": "limit 600",
                       "reason": "no usable mark for CON.F.US.EP.Z26"}],
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
        # never "ok", never "no limit": unknown, in its own colour, with the reason
        room = card.locator(".kpi.room")
        await expect(room.locator(".value")).to_have_text("unknown")
        await expect(room.locator(".sub")).to_contain_text("no usable mark for CON.F.US.EP.Z26")
        await expect(room).to_have_class(re.compile(r"\broom-unknown\b"))
        rule = card.locator('.rule-row[data-rule="daily_net_loss"]')
        await expect(rule.locator(".pill")).to_have_text("unknown")
        await expect(rule.locator(".pill")).to_have_class(re.compile(r"\bpill-unknown\b"))
        await expect(rule.locator(".detail")).to_have_text(
            "cannot be evaluated: no usable mark for CON.F.US.EP.Z26"
        )
        # refusals and failures on the card until resolved, not only in the log
        await expect(card.locator('.banner[data-problem="stale_mark"]')).to_contain_text(
            "STALE MARK"
        )
        await expect(card.locator('.banner[data-problem="escalated"]')).to_contain_text("FAILED")
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
        await expect(calm.locator(".lock .clearing")).to_contain_text("admin clearing at")
        await expect(calm.locator(".pending-loosening")).to_have_text(
            "pending: daily_net_loss limit 1000 → 2000 at 14:50 CST"
        )
        assert page.errors == []


@pytest.mark.parametrize("notify", [True, False])
async def test_a_new_lock_is_announced_only_when_configured(page: Any, notify: bool) -> None:
    model = MemoryReadModel()
    model.put_account(demo.locked_account(datetime.now(UTC)))
    model.put_account(demo.calm_account(datetime.now(UTC)))
    async with running_api(model, Metrics(), port=0, notify_on_lock=notify) as api:
        await page.goto(api.url)
        expect = playwright_api.expect
        await expect(page.locator(f'[data-account="{CALM}"]')).to_be_visible()
        await page.locator("body").click()  # the gesture browsers want before a sound
        lock = {"id": 99, "rule": "cooldown_after_loss", "kind": "hard", "reason": "15m",
                "created_at": iso(datetime.now(UTC)), "ends_at": None}  # fmt: skip
        model.update_account(CALM, locked=True, locks=[lock])
        await expect(page.locator(f'[data-account="{CALM}"] .lock')).to_have_count(1)
        notified = await page.locator("body").get_attribute("data-notified")
        # the lock that was there when the page opened is not announced; the new one is
        assert notified == ("1" if notify else None)
        assert page.errors == []


async def test_a_hub_outage_is_a_banner_on_every_card_until_it_is_back(page: Any) -> None:
    async with running_demo_api() as (api, model):
        await page.goto(api.url)
        expect = playwright_api.expect
        banner = page.locator('[data-account] .banner[data-problem="hub"]')
        await expect(page.locator("[data-account]")).to_have_count(2)
        await expect(banner).to_have_count(0)
        model.set_health(
            status="degraded",
            signalr_connected=False,
            problem="market hub down since 19:20:00 CT",
            hubs={"user": {"connected": True}, "market": {"connected": False}},
        )
        await expect(banner).to_have_count(2)
        await expect(banner.first).to_contain_text("HUB DOWN")
        await expect(banner.first).to_contain_text("market hub down")
        model.set_health(
            status="ok",
            signalr_connected=True,
            problem=None,
            hubs={"user": {"connected": True}, "market": {"connected": True}},
        )
        await expect(banner).to_have_count(0)
        assert page.errors == []


async def test_the_history_view_reads_yesterdays_lock_from_the_store(
    page: Any, tmp_path: Path
) -> None:
    with Store.open(tmp_path / "rm.db") as store:
        seed_history(store)  # yesterday: a daily loss lock cleared by admin:jo, a cooldown
        daemon = daemon_over(store)
        async with running_api(daemon.read_side, Metrics(), port=0) as api:
            await page.goto(api.url)
            expect = playwright_api.expect
            rows = page.locator("#history table.history tbody tr")
            await expect(rows).to_have_count(2)  # today and yesterday (last week is too old)
            yesterday = page.locator('#history tr[data-day="2026-03-10"]')
            await expect(yesterday.locator("td").nth(2)).to_have_text("−311.48")
            await expect(yesterday).to_contain_text("daily_realized_loss: realized −311.48")
            await expect(yesterday).to_contain_text("cleared by admin:jo at Tue 14:00 CT")
            await expect(yesterday).to_contain_text("(reviewed the fill)")
            await expect(yesterday).to_contain_text("ended by its time at Tue 13:18 CT")
            await expect(page.locator("#history .ended-locks > div")).to_have_count(2)
            assert page.errors == []


async def test_a_view_streamed_without_its_curve_keeps_the_chart_and_draws_the_live_net(
    page: Any,
) -> None:
    """The daemon streams an account's P&L curve only when it gains a point (docs/API.md
    "Stream"): the page keeps the curve it has and draws the view's own net after it."""
    now = datetime.now(UTC)
    async with running_demo_api(now=now) as (api, model):
        await page.goto(api.url)
        expect = playwright_api.expect
        locked = page.locator(f'[data-account="{LOCKED}"]')
        curve = locked.locator("svg path.curve")
        await expect(curve).to_have_count(1)
        before = await curve.get_attribute("d")
        assert before is not None
        view = model.account(LOCKED)
        assert view is not None and view["pnl_curve"]
        later = {**view, "as_of": iso(now + timedelta(minutes=1)),
                 "pnl": {**view["pnl"], "net": "-580.00"}}  # fmt: skip
        model.put_account(later, stream_curve=False)
        await expect(curve).not_to_have_attribute("d", before)
        after = await curve.get_attribute("d")
        assert after is not None  # the same curve (squeezed to the new end), one point on
        assert after.count("L") == before.count("L") + 1
        assert after.split()[0] == before.split()[0]
        assert page.errors == []
