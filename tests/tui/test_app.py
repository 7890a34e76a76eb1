from __future__ import annotations

import contextlib
import re
import socket

import pytest

from risk_manager.api.memory import MemoryReadModel
from risk_manager.api.server import running_api
from risk_manager.runtime.metrics import Metrics
from risk_manager.tui.app import DashboardApp
from support.polling import eventually

LOCKED, CALM = 20258288, 20258301
SIZE = (160, 48)


async def test_tabs_switch_and_show_pnl_positions_rules_log_and_a_ticking_lock(
    model: MemoryReadModel,
) -> None:
    async with running_api(model, Metrics(), port=0) as api:
        app = DashboardApp(api.url)
        async with app.run_test(size=SIZE) as pilot:
            await eventually(lambda: "150KTC-V2-478426-52758441" in app.pane_text("overview"))
            overview = app.pane_text("overview")
            assert "LOCKED" in overview and "TRADING" in overview
            assert "100.60 of 600.00" in overview  # room to the loss lock
            first = re.search(r"(ends in 4 m \d\d s) · at (\w{3} )?\d\d:\d\d CT", overview)
            assert first, overview
            assert "● live" in app.pane_text("conn")
            # the countdown ticks without any message from the daemon
            await eventually(lambda: first.group(1) not in app.pane_text("overview"), within=3)

            await pilot.press("2")
            assert app.active_tab == "pnl"
            pnl = app.pane_text("pnl")
            assert "-499.40" in pnl and "-412.40" in pnl and "-600.00" in pnl
            assert re.search("[▁▂▃▄▅▆▇█]{20,}", pnl)
            await pilot.press("3")
            assert app.active_tab == "positions"
            assert re.search(r"MNQ\s+│\s+long\s+│\s+2\s+│\s+21012.25", app.pane_text("positions"))
            await pilot.press("4")
            assert app.active_tab == "rules"
            assert re.search(r"trade_frequency_limit\s+│\s+breached", app.pane_text("rules"))
            await pilot.press("5")
            assert app.active_tab == "log"
            assert "no_stop_loss_grace" in app.pane_text("log")
            await pilot.press("1")
            assert app.active_tab == "overview"


async def test_a_change_in_the_daemon_shows_within_a_second(model: MemoryReadModel) -> None:
    async with running_api(model, Metrics(), port=0) as api:
        app = DashboardApp(api.url)
        async with app.run_test(size=SIZE):
            await eventually(lambda: "50KTC-V2-478426-11873342" in app.pane_text("overview"))
            view = model.account(CALM)
            assert view is not None
            model.update_account(CALM, locked=True, pnl={**view["pnl"], "net": "-777.25"})
            await eventually(lambda: "-777.25" in app.pane_text("overview"), within=1.0)
            model.record_enforcement(
                {"id": 77, "at": "2026-03-10T19:40:00Z", "account_id": CALM,
                 "rule": "symbol_blocks", "kind": "cancel_order", "reason": "RTY is blocked",
                 "outcome": "confirmed"}
            )  # fmt: skip
            await eventually(lambda: "RTY is blocked" in app.pane_text("log"), within=1.0)


async def test_survives_a_daemon_restart(model: MemoryReadModel) -> None:
    first = contextlib.AsyncExitStack()
    api = await first.enter_async_context(running_api(model, Metrics(), port=0))
    try:
        app = DashboardApp(api.url)
        async with app.run_test(size=SIZE):
            await eventually(lambda: app.state.connected and len(app.state.accounts) == 2)
            await first.aclose()  # the daemon goes away
            await eventually(lambda: "daemon unreachable since" in app.pane_text("conn"))
            assert "50KTC-V2-478426-11873342" in app.pane_text("overview")  # last data kept
            model.update_account(CALM, name="RENAMED-WHILE-DOWN")
            async with running_api(model, Metrics(), port=api.port):
                await eventually(lambda: "● live" in app.pane_text("conn"), within=10)
                await eventually(lambda: "RENAMED-WHILE-DOWN" in app.pane_text("overview"))
    finally:
        await first.aclose()


async def test_a_malformed_view_is_shown_as_an_error_not_a_crash(model: MemoryReadModel) -> None:
    async with running_api(model, Metrics(), port=0) as api:
        app = DashboardApp(api.url)
        async with app.run_test(size=SIZE):
            await eventually(lambda: len(app.state.accounts) == 2)
            model.update_account(CALM, positions=[{"size": "not-a-number"}])
            await eventually(lambda: "cannot show this view" in app.pane_text("overview"))
            assert "cannot show this view" not in app.pane_text("log")
            model.update_account(CALM, positions=[])
            await eventually(lambda: "50KTC-V2-478426-11873342" in app.pane_text("overview"))
            assert app.is_running


async def test_shows_connecting_then_retrying_when_no_daemon_answers() -> None:
    with socket.socket() as s:  # a port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = DashboardApp(f"http://127.0.0.1:{port}")
    async with app.run_test(size=SIZE):
        await eventually(lambda: "daemon unreachable since" in app.pane_text("conn"))
        assert "No accounts monitored yet." in app.pane_text("overview")


async def test_a_message_that_is_not_a_json_object_is_skipped_not_fatal() -> None:
    from aiohttp import web

    async def stream(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        for text in ("not json", "[1, 2]"):
            await ws.send_str(text)
        await ws.send_json({"type": "snapshot", "accounts": [{"id": 7, "name": "ACCT-SEVEN"}],
                            "health": {"status": "ok"}, "enforcements": []})  # fmt: skip
        async for _ in ws:
            pass
        return ws

    app_ = web.Application()
    app_.router.add_get("/api/v1/stream", stream)
    runner = web.AppRunner(app_)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        app = DashboardApp(f"http://127.0.0.1:{port}")
        async with app.run_test(size=SIZE):
            await eventually(lambda: "ACCT-SEVEN" in app.pane_text("overview"))
            assert app.is_running
    finally:
        await runner.cleanup()


async def test_a_daemon_problem_is_in_the_header_not_only_in_the_log(
    model: MemoryReadModel,
) -> None:
    problem = "reconciliation failing since 2026-12-07T15:00:00Z: HTTP 500"
    model.set_health(status="degraded", problem=problem, signalr_connected=True)
    async with running_api(model, Metrics(), port=0) as api:
        app = DashboardApp(api.url)
        async with app.run_test(size=SIZE):
            await eventually(lambda: "● live" in app.pane_text("conn"))
            await eventually(lambda: f"⚠ {problem}" in app.pane_text("conn", 200))
            assert "daemon degraded" in app.pane_text("conn", 200)


def _screen_text(app: DashboardApp) -> str:
    """What the terminal shows now, as text (the compositor's lines: Textual has no public
    text export of the screen)."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


@pytest.mark.parametrize("size", [(80, 24), (160, 48)])
async def test_lock_state_net_room_and_countdown_are_on_screen_at(
    model: MemoryReadModel, size: tuple[int, int]
) -> None:
    async with running_api(model, Metrics(), port=0) as api:
        app = DashboardApp(api.url)
        async with app.run_test(size=size) as pilot:
            await eventually(lambda: len(app.state.accounts) == 2)
            await pilot.pause()
            for tab in ("1", "5", "6"):  # whichever tab is open, the header stays
                await pilot.press(tab)
                await pilot.pause()
                screen = _screen_text(app)
                lines = screen.splitlines()
                assert len(lines) == size[1] and max(len(line) for line in lines) <= size[0]
                assert "LOCKED" in screen, screen
                assert "net -499.40" in screen and "room 100.60 of 600.00" in screen, screen
                assert re.search(r"ends in 4 m \d\d s · at (\w{3} )?\d\d:\d\d CT", screen), screen
            await pilot.press("5")
            await pilot.pause()
            # the Log tab keeps each entry's reason at any width (its own line when narrow)
            assert "no_stop_loss_grace: MNQ long 1 open" in _screen_text(app)


async def test_unreachable_within_two_seconds_when_the_daemon_hangs() -> None:
    """A hung daemon closes nothing: no heartbeat for 1.5 s is "unreachable", figures kept."""
    from aiohttp import web

    async def stream(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"type": "snapshot", "accounts": [{"id": 7, "name": "ACCT-SEVEN"}],
                            "health": {"status": "ok"}, "enforcements": []})  # fmt: skip
        async for _ in ws:  # then silence: no heartbeat
            pass
        return ws

    app_ = web.Application()
    app_.router.add_get("/api/v1/stream", stream)
    runner = web.AppRunner(app_, shutdown_timeout=0.1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        app = DashboardApp(f"http://127.0.0.1:{runner.addresses[0][1]}")
        async with app.run_test(size=SIZE):
            await eventually(lambda: app.state.connected)
            await eventually(lambda: "daemon unreachable since" in app.pane_text("conn"), within=2)
            assert "no word from the daemon" in app.pane_text("conn", 200)
            assert "last figures greyed" in app.pane_text("conn", 200)
            assert "ACCT-SEVEN" in app.pane_text("overview")  # the last figures are kept
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("notify", [True, False])
async def test_a_new_lock_rings_the_bell_only_when_configured(
    model: MemoryReadModel, notify: bool
) -> None:
    async with running_api(model, Metrics(), port=0, notify_on_lock=notify) as api:
        app = DashboardApp(api.url)
        async with app.run_test(size=SIZE):
            await eventually(lambda: len(app.state.accounts) == 2)
            assert app.bells == 0  # the locks already there are not new
            lock = {"id": 99, "rule": "cooldown_after_loss", "kind": "hard", "reason": "15m",
                    "created_at": "2026-03-10T19:40:00Z", "ends_at": None}  # fmt: skip
            model.update_account(CALM, locked=True, locks=[lock])
            await eventually(lambda: app.state.accounts[CALM]["locked"] is True)
            assert app.bells == (1 if notify else 0)
