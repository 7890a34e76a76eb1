"""Write docs/dashboard-sample.png: the web dashboard over two sample accounts (docs/dashboard.png
is taken from `risk-manager demo`).

Run: PYTHONPATH=tests .venv/bin/python tests/api/screenshot_dashboard.py [out.png]
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

# Run as a script, `tests/` is not on the path that pytest's `pythonpath` gives the tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from api.browser import NO_CHROMIUM, chromium_page, chromium_path
from risk_manager.api.demo_server import running_demo_api


async def main(out: Path) -> None:
    if chromium_path() is None:
        raise SystemExit(NO_CHROMIUM)
    async with running_demo_api() as (api, _), chromium_page(1360, 900) as page:
        await page.goto(api.url)
        await page.locator(".card").first.wait_for()
        await page.screenshot(path=str(out), full_page=True)
    print(f"wrote {out}")


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/dashboard-sample.png")))
