"""Write docs/tui.svg (the Overview screen) and docs/tui.txt (every tab as text).

Run: .venv/bin/python tests/tui/capture_tui.py
"""

from __future__ import annotations

import asyncio
import sys
from datetime import UTC, datetime
from pathlib import Path

# Run as a script, `tests/` is not on the path that pytest's `pythonpath` gives the tests.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from risk_manager.api import demo
from risk_manager.api.memory import MemoryReadModel
from risk_manager.api.server import running_api
from risk_manager.runtime.metrics import Metrics
from risk_manager.tui.app import TABS, DashboardApp
from support.polling import eventually


async def main(docs: Path) -> None:
    now = datetime.now(UTC)
    model = MemoryReadModel()
    model.put_account(demo.locked_account(now))
    model.put_account(demo.calm_account(now))
    for entry in demo.enforcement_log(now):
        model.record_enforcement(entry)
    async with running_api(model, Metrics(), port=0) as api:
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
