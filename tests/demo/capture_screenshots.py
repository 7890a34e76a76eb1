"""Screenshots of both dashboards over `risk-manager demo` (what `make demo` runs), once its
scripted trader has broken every rule: docs/dashboard.png (web, 1400×1000),
docs/dashboard-phone.png (web, 390×844), docs/tui-80x24.svg and docs/tui-160x48.svg (terminal,
Textual's SVG export), and docs/tui.txt (every tab as text at 160 columns).

Run: .venv/bin/python tests/demo/capture_screenshots.py [--speed 4]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import tempfile
from pathlib import Path

import aiohttp

# Run as a script, `tests/` is not on the path that pytest's `pythonpath` gives the tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from api.browser import NO_CHROMIUM, chromium_page, chromium_path
from risk_manager.tui.app import TABS, DashboardApp
from support.polling import eventually

DOCS = Path(__file__).resolve().parents[2] / "docs"
BIN = Path(sys.executable).parent
PORT_BASE = 5870
WEB_SIZES = {"dashboard.png": (1400, 1000), "dashboard-phone.png": (390, 844)}
TUI_SIZES = {"tui-80x24.svg": (80, 24), "tui-160x48.svg": (160, 48)}


async def _script_done(log: Path, within: float) -> None:
    """The demo's script finished (every step run): the views hold its locks."""
    await eventually(lambda: "script finished" in log.read_text(errors="replace"), within)


async def _web(url: str) -> None:
    for name, (width, height) in WEB_SIZES.items():
        async with chromium_page(width, height) as page:
            await page.goto(url)
            await page.locator(".card").first.wait_for()
            await page.locator("#history table, #history .none").first.wait_for()
            await page.screenshot(path=str(DOCS / name))
            assert page.errors == [], page.errors
        print(f"wrote docs/{name}")


def _ready(app: DashboardApp) -> bool:
    return bool(app.state.accounts) and app.state.history is not None


async def _tui(url: str) -> None:
    for name, size in TUI_SIZES.items():
        app = DashboardApp(url)
        async with app.run_test(size=size) as pilot:
            await eventually(lambda: _ready(app))  # noqa: B023 - awaited in this iteration
            await pilot.pause(0.3)
            app.save_screenshot(filename=name, path=str(DOCS))
            if size[0] == 160:
                parts = [f"== header ==\n{app.pane_text('conn')}{app.pane_text('summary')}"]
                parts += [f"== {title} tab ==\n{app.pane_text(p)}" for p, title in TABS]
                (DOCS / "tui.txt").write_text("\n".join(parts), encoding="utf-8")
        print(f"wrote docs/{name}")


async def main(speed: float) -> None:
    if chromium_path() is None:
        raise SystemExit(NO_CHROMIUM)
    with tempfile.TemporaryDirectory(prefix="rm-shots-") as tmp:
        log = Path(tmp) / "demo.out"
        with log.open("w") as out:
            demo = await asyncio.create_subprocess_exec(
                str(BIN / "risk-manager"), "demo", "--speed", str(speed), "--duration", "0",
                "--port-base", str(PORT_BASE), "--data-dir", tmp,
                stdout=out, stderr=out, env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )  # fmt: skip
        url = f"http://127.0.0.1:{PORT_BASE + 1}"
        try:
            await _script_done(log, within=600 / speed)
            async with aiohttp.ClientSession() as http, http.get(f"{url}/health") as reply:
                await reply.read()
            await _web(url)
            await _tui(url)
        finally:
            demo.send_signal(signal.SIGINT)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(demo.wait(), 30)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--speed", type=float, default=4.0)
    asyncio.run(main(parser.parse_args().speed))
