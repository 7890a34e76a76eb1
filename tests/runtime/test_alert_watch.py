"""The daemon's own alert rules (docs/ALERTS.md "Alert rules"): each condition alerts once
when it starts (and, for hubs and the login, once when it ends), on a fake connection, clock
and memory gauge; the unclean-stop marker."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from risk_manager.calendar import HolidayCalendar, TradingCalendar
from risk_manager.config.sections import WatchConfig
from risk_manager.domain.actions import Alert, Severity
from risk_manager.runtime.alerts.watch import MB, AlertWatch, unclean_stop
from risk_manager.runtime.run_marker import RunMarker, marker_path

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)
COVERED = HolidayCalendar(coverage=(date(2025, 1, 1), date(2027, 12, 31)))


@dataclass
class Connection:
    """A gateway connection as the watch reads it."""

    user: bool = True
    market: bool = True
    login_problem: str | None = None
    breaker_openings: int = 0

    def user_stream_up(self) -> bool:
        return self.user

    def market_stream_up(self) -> bool:
        return self.market


class World:
    """The watch over one fake connection, a fake monotonic clock and memory gauge."""

    def __init__(self, tmp_path: Path, holidays: HolidayCalendar | None = COVERED) -> None:
        self.conn = Connection()
        self.seconds = 1000.0
        self.rss = 100 * MB
        self.guarding = True
        self.sent: list[Alert] = []
        self.store = tmp_path / "rm.sqlite"
        self.store.write_bytes(b"")
        self.watch = AlertWatch(
            WatchConfig(max_memory_mb=500, max_database_mb=1),
            [self.conn],
            self.sent.append,
            guarding=lambda: self.guarding,
            store=self.store,
            calendar=TradingCalendar(holidays=holidays),
            clock=lambda: NOW,
            monotonic=lambda: self.seconds,
            memory=lambda: self.rss,
        )

    def look(self, after: float = 0.0) -> list[tuple[str, Severity]]:
        self.seconds += after
        return [(a.rule, a.severity) for a in self.watch.check()]


def test_a_hub_down_past_60s_alerts_once_then_once_when_back(tmp_path: Path) -> None:
    world = World(tmp_path)
    assert world.look() == []
    world.conn.market = False
    assert world.look() == []
    assert world.look(after=59) == []
    assert world.look(after=1) == [("hub_down", Severity.CRITICAL)]
    assert world.look(after=60) == []  # once per outage
    world.conn.market = True
    assert world.look(after=5) == [("hub_down", Severity.INFO)]
    assert "market hub is back after 125s" in world.sent[-1].reason
    assert (
        world.sent[0].account_id == 0 and "market hub has been down for 60s" in world.sent[0].reason
    )


def test_a_short_drop_raises_nothing_and_hubs_are_not_watched_before_guarding(
    tmp_path: Path,
) -> None:
    world = World(tmp_path)
    world.guarding = False
    world.conn.user = False
    assert world.look(after=300) == []
    world.guarding = True
    assert world.look() == []  # counted from the first look while guarding
    world.conn.user = True
    assert world.look(after=30) == []


def test_login_failing_alerts_once_and_once_when_it_works_again(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.conn.login_problem = "AuthenticationFailed: Auth/loginKey refused (errorCode 3)"
    assert world.look() == [("login_failing", Severity.CRITICAL)]
    assert "errorCode 3" in world.sent[-1].reason
    assert world.look(after=10) == []
    world.conn.login_problem = None
    assert world.look(after=10) == [("login_failing", Severity.INFO)]


def test_the_circuit_breaker_opening_alerts_once_a_look(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.conn.breaker_openings = 2
    assert world.look() == [("circuit_open", Severity.WARNING)]
    assert "opened 2 time(s)" in world.sent[-1].reason
    assert world.look() == []


def test_memory_and_store_size_over_their_thresholds_alert_once_until_back_under(
    tmp_path: Path,
) -> None:
    world = World(tmp_path)
    world.rss = 501 * MB
    world.store.write_bytes(b"\0" * (2 * MB))
    assert sorted(world.look()) == [
        ("database_size", Severity.WARNING),
        ("memory", Severity.WARNING),
    ]
    assert world.look() == []
    world.rss = 460 * MB  # under the threshold, not under 90 % of it: still raised
    assert world.look() == []
    world.rss = 400 * MB
    assert world.look() == []
    world.rss = 600 * MB
    assert world.look() == [("memory", Severity.WARNING)]


def test_holiday_data_ending_within_60_days_alerts_once_a_day(tmp_path: Path) -> None:
    ends_soon = HolidayCalendar(coverage=(date(2025, 1, 1), date(2026, 4, 30)))
    world = World(tmp_path, holidays=ends_soon)
    assert world.look() == [("holiday_data", Severity.WARNING)]
    assert "ends 2026-04-30" in world.sent[-1].reason
    assert world.look(after=60) == []  # the same trading day
    assert World(tmp_path).look() == []  # data to 2027: fine
    assert World(tmp_path, holidays=None).look() == [("holiday_data", Severity.WARNING)]


def test_the_marker_tells_a_start_after_an_unclean_stop(tmp_path: Path) -> None:
    path = marker_path(tmp_path / "rm.sqlite")
    assert path.name == "rm.sqlite.running"
    first = RunMarker(path)
    assert first.begin(NOW) is None
    crashed_then = RunMarker(path)  # the first never ran end(): it was killed
    previous = crashed_then.begin(NOW + timedelta(hours=1))
    assert previous is not None and "started 2026-03-10T15:00:00+00:00" in previous
    crashed_then.end()
    assert not path.exists()
    assert RunMarker(path).begin(NOW) is None  # after a clean stop: nothing to tell
    alert = unclean_stop(previous, lambda: NOW)
    assert alert.severity is Severity.CRITICAL and alert.rule == "unclean_stop"
