"""``GET /api/v1/history`` over a real store (issue 15 item 5): past trading days with their
realized P&L, fees, fills and locks (reasons, who cleared them), and the ended locks."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from risk_manager.api.server import running_api
from risk_manager.runtime.metrics import Metrics
from risk_manager.store import Store
from support.history import daemon_over, seed_history


async def test_history_lists_yesterdays_lock_who_cleared_it_and_the_days_totals(
    tmp_path: Path,
) -> None:
    with Store.open(tmp_path / "rm.db") as store:
        seed_history(store)
        daemon = daemon_over(store)
        async with (
            running_api(daemon.read_side, Metrics(), port=0) as api,
            aiohttp.ClientSession() as http,
        ):
            async with http.get(f"{api.url}/api/v1/history?days=3") as reply:
                assert reply.status == 200
                history = await reply.json()
            async with http.get(f"{api.url}/api/v1/history?days=0") as reply:
                assert reply.status == 400 and (await reply.json())["parameter"] == "days"

    assert history["time_zone"] == "America/Chicago" and history["time_zone_label"] == "CT"
    today, yesterday = history["days"]  # last week's day is outside the 3 days asked
    assert today["trading_day"] == "2026-03-11" and today["today"] is True
    (row,) = today["accounts"]
    assert (row["realized"], row["fees"], row["fills"], row["locks"]) == ("118.52", "1.48", 1, [])
    assert yesterday["trading_day"] == "2026-03-10" and yesterday["today"] is False
    (row,) = yesterday["accounts"]
    # the voided fill counts nowhere: -310 - 2 × 0.74 fees
    assert (row["realized"], row["gross"], row["fees"]) == ("-311.48", "-310.00", "1.48")
    assert (row["fills"], row["round_turns"]) == (2, 1)
    by_rule = {lock["rule"]: lock for lock in row["locks"]}
    cleared = by_rule["daily_realized_loss"]
    assert cleared["ended_by"] == "admin:jo" and cleared["clear_reason"] == "reviewed the fill"
    assert cleared["ended_at"] == "2026-03-10T19:00:00Z" and cleared["active"] is False
    timed_out = by_rule["cooldown_after_loss"]
    assert timed_out["ended_by"] is None and timed_out["ended_at"] == "2026-03-10T18:18:00Z"
    assert {lock["rule"] for lock in history["ended_locks"]} == set(by_rule)
