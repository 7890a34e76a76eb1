"""Write docs/tui.svg (the Overview screen) and docs/tui.txt (every tab as text).

Run: .venv/bin/python tests/tui/capture_tui.py
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

# Run as a script, `tests/` is not on the path that pytest's `pythonpath` gives the tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from risk_manager.api.demo_server import running_demo_api
from risk_manager.tui.app import TABS, DashboardApp
from support.polling import eventually


async def main(docs: Path) -> None:
    async with running_demo_api() as (api, _):
        app = DashboardApp(api.url)
        async with app.run_test(size=(150, 44)) as pilot:
            await eventually(lambda: len(app.state.accounts) == 2)
            await pilot.pause()
            app.save_screenshot(filename="tui.svg", path=str(docs))
            parts = [f"== status line ==\n{app.pane_text('conn', 150)}"]
            for pane, title in TABS:
                parts.append(f"== {title} tab ==\n{app.pane_text(pane, 150)}")
            (docs / "tui.txt").write_text("\n".join(parts), encoding="utf-8")
    print(f"wrote {docs / 'tui.svg'} and {docs / 'tui.txt'}")


if __name__ == "__main__":
    asyncio.run(main(Path("docs")))
