from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from risk_manager.tui import render
from risk_manager.tui.client import stream_url
from risk_manager.tui.state import DashboardState

NOW = datetime(2026, 3, 10, 19, 30, tzinfo=UTC)


def test_countdown_cannot_be_read_as_a_clock_and_says_when_in_the_trading_zone() -> None:
    at = (NOW + timedelta(minutes=4, seconds=13)).isoformat().replace("+00:00", "Z")
    assert render.countdown(at, NOW) == "ends in 4 m 13 s · at 14:34 CT"  # 19:34 UTC, CDT
    assert render.countdown(at, NOW + timedelta(seconds=14)) == "ends in 3 m 59 s · at 14:34 CT"
    reset = datetime(2026, 3, 10, 22, 0, tzinfo=UTC).isoformat()  # 17:00 CT
    evening = datetime(2026, 3, 10, 4, 11, 52, tzinfo=UTC)  # 23:11 CT the day before
    assert render.countdown(reset, evening) == "ends in 17 h 48 m · at Tue 17:00 CT"
    morning = datetime(2026, 3, 10, 11, 11, 52, tzinfo=UTC)  # 06:11 CT the same day
    assert render.countdown(reset, morning) == "ends in 10 h 48 m · at 17:00 CT"
    assert render.countdown(reset, NOW + timedelta(hours=3)) == "ending…"
    next_day = datetime(2026, 3, 11, 22, 0, tzinfo=UTC).isoformat()
    assert render.countdown(next_day, NOW) == "ends in 26 h 30 m · at Wed 17:00 CT"
    assert render.countdown(None, NOW) == "until cleared"
    assert render.countdown(at, NOW, ZoneInfo("Europe/Berlin"), "CET") == (
        "ends in 4 m 13 s · at 20:34 CET"
    )


def test_a_rule_that_cannot_be_evaluated_is_unknown_and_so_is_the_room() -> None:
    from rich.console import Console

    account = {
        "id": 1, "name": "50K", "locked": False, "pnl": {"net": None},
        "room_to_loss_lock": None, "loss_limit": "600.00",
        "room_unknown": "daily_net_loss: no usable mark for CON.F.US.MNQ.H26",
        "rules": [{"key": "daily_net_loss", "id": "RULE-015", "state": "unknown",
                   "value": None, "limit": "600.00", "detail": "limit 600",
                   "reason": "no usable mark for CON.F.US.MNQ.H26"}],
        "problems": [{"kind": "refused", "text": "max_contracts: close_position refused: 500"}],
    }  # fmt: skip
    state = DashboardState(accounts={1: account})
    console = Console(width=160, record=True)
    console.print(render.summary(state, NOW), render.rules(state, NOW))
    text = console.export_text()
    assert "room unknown" in text and "no limit" not in text
    assert "REFUSED max_contracts: close_position refused: 500" in text
    assert "unknown" in text and "cannot be evaluated: no usable mark for CON.F.US.MNQ.H26" in text


def test_money_keeps_the_decimal_string_and_signs_it() -> None:
    assert render.money("-1512.4").plain == "-1,512.40"
    assert render.money("0.10").plain == "+0.10"
    assert render.money(None).plain == "unknown"


def test_sparkline_spans_low_to_high_and_fits_the_width() -> None:
    curve = [{"at": "", "net": str(v)} for v in range(-100, 101)]
    line = render.sparkline(curve, width=40)
    assert len(line) == 40 and line[0] == "▁" and line[-1] == "█"
    assert render.sparkline([]) == "no P&L yet today"


def test_state_applies_snapshot_then_changes() -> None:
    s = DashboardState()
    s.apply({"type": "snapshot", "accounts": [{"id": 2}, {"id": 1}], "health": {"status": "ok"},
             "enforcements": [{"id": 5}]})  # fmt: skip
    s.apply({"type": "account", "account": {"id": 2, "locked": True}})
    s.apply({"type": "enforcement", "entry": {"id": 6}})
    s.apply({"type": "health", "health": {"status": "degraded"}})
    s.apply({"type": "something-new"})  # ignored: newer daemons may add message types
    assert [a["id"] for a in s.sorted_accounts()] == [1, 2]
    assert s.accounts[2]["locked"] is True
    assert [e["id"] for e in s.log] == [6, 5]
    assert s.health == {"status": "degraded"}


def test_stream_url_follows_the_scheme() -> None:
    assert stream_url("http://127.0.0.1:8765/") == "ws://127.0.0.1:8765/api/v1/stream"
    assert stream_url("https://box:9000") == "wss://box:9000/api/v1/stream"


def test_state_replaces_a_re_sent_enforcement_entry_by_id() -> None:
    # The daemon streams an entry again when its outcome arrives (runtime/read_side.py).
    s = DashboardState()
    s.apply({"type": "snapshot", "accounts": [], "health": None,
             "enforcements": [{"id": 5, "outcome": "confirmed"}]})  # fmt: skip
    s.apply({"type": "enforcement", "entry": {"id": 6, "outcome": "pending"}})
    s.apply({"type": "enforcement", "entry": {"id": 6, "outcome": "confirmed"}})
    assert s.log == [{"id": 6, "outcome": "confirmed"}, {"id": 5, "outcome": "confirmed"}]


def test_status_shows_each_accounts_own_drawdown_floor() -> None:
    from rich.console import Console

    accounts = {
        1: {"id": 1, "name": "50K", "trailing_drawdown": {
            "starting_balance": "50000.00", "start_source": "config",
            "peak": "51000.00", "floor": "49000.00"}},
        2: {"id": 2, "name": "150K", "trailing_drawdown": {
            "starting_balance": "150000.00", "start_source": "first_balance",
            "peak": "150000.00", "floor": "148000.00"}},
    }  # fmt: skip
    console = Console(width=160, record=True)
    console.print(render.overview(DashboardState(accounts=accounts), NOW))
    text = console.export_text()
    assert "49,000.00" in text and "148,000.00" in text
    assert "150,000.00 (first seen)" in text


def test_a_pending_clearing_and_a_pending_loosening_are_shown() -> None:
    from rich.console import Console

    accounts = {
        1: {"id": 1, "name": "50K", "locks": [{
            "rule": "trailing_drawdown", "kind": "hard", "reason": "at the floor",
            "ends_at": None, "clearing_at": "2026-03-10T20:35:00Z"}],
            "pending_loosenings": [{"rule": "daily_net_loss",
                                    "text": "daily_net_loss limit 1000 → 2000 at 14:50 CST"}]},
    }  # fmt: skip
    console = Console(width=160, record=True)
    console.print(render.overview(DashboardState(accounts=accounts), NOW))
    text = console.export_text()
    assert "admin clearing at 15:35 CT" in text  # 20:35Z is 15:35 CDT
    assert "daily_net_loss limit 1000 → 2000 at 14:50 CST" in text


def test_state_counts_locks_new_since_it_opened() -> None:
    s = DashboardState()
    lock = {"id": 3, "rule": "daily_net_loss"}
    opened = {"type": "snapshot", "accounts": [{"id": 1, "locks": [lock]}], "health": None,
              "enforcements": [], "settings": {"notify_on_lock": True}}  # fmt: skip
    assert s.apply(opened) == 0  # already there when the dashboard opens: not new
    assert s.settings == {"notify_on_lock": True}
    second = {"id": 4, "rule": "cooldown_after_loss"}
    assert s.apply({"type": "account", "account": {"id": 1, "locks": [lock, second]}}) == 1
    assert s.apply({"type": "account", "account": {"id": 1, "locks": [lock, second]}}) == 0
    assert s.apply(opened) == 0  # a reconnect's snapshot: nothing new


def test_a_view_streamed_without_its_curve_keeps_the_one_shown_and_adds_its_live_net() -> None:
    """The daemon streams the P&L curve only when it gains a point (docs/API.md "Stream")."""
    s = DashboardState()
    curve = [{"at": "2026-03-10T15:00:00Z", "net": "-5.00"}]
    s.apply({"type": "snapshot", "accounts": [{"id": 1, "pnl_curve": curve}]})
    s.apply({"type": "account", "account": {"id": 1, "as_of": "2026-03-10T15:00:03Z",
                                            "pnl": {"net": "-9.00"}}})  # fmt: skip
    assert s.accounts[1]["pnl_curve"] == curve
    assert render.with_live(s.accounts[1]) == [
        *curve,
        {"at": "2026-03-10T15:00:03Z", "net": "-9.00"},
    ]
    stale = {"id": 1, "pnl_curve": curve, "as_of": "2026-03-10T15:00:00Z", "pnl": {"net": "1"}}
    assert render.with_live(stale) == curve  # not after the last point: nothing added
    assert render.with_live({"id": 1, "pnl": {"net": None}, "as_of": "x"}) == []
    # A step's point on a whole second has no fraction: compared as instants, not as text.
    whole = [{"at": "2026-03-10T15:05:50Z", "net": "1.00"}]
    later = {"pnl_curve": whole, "as_of": "2026-03-10T15:05:50.200000Z", "pnl": {"net": "2.00"}}
    assert render.with_live(later)[-1] == {"at": "2026-03-10T15:05:50.200000Z", "net": "2.00"}
