"""Write docs/dashboard-sample.png: the web dashboard over two sample accounts (docs/dashboard.png
is taken from `risk-manager demo`).

Run: .venv/bin/python tests/api/screenshot_dashboard.py [out.png]
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

from browser import NO_CHROMIUM, chromium_page, chromium_path

from risk_manager.api import demo
from risk_manager.api.memory import MemoryReadModel
from risk_manager.api.server import running_api
from risk_manager.runtime.metrics import Metrics


async def main(out: Path) -> None:
    if chromium_path() is None:
        raise SystemExit(NO_CHROMIUM)
    now = datetime.now(UTC)
    model = MemoryReadModel()
    model.put_account(demo.locked_account(now))
    model.put_account(demo.calm_account(now))
    for entry in demo.enforcement_log(now):
        model.record_enforcement(entry)
    async with running_api(model, Metrics(), port=0) as api, chromium_page(1360, 900) as page:
        await page.goto(api.url)
        await page.locator(".card").first.wait_for()
        await page.screenshot(path=str(out), full_page=True)
    print(f"wrote {out}")


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/dashboard-sample.png")))
