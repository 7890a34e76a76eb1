"""The daemon's own alert rules (docs/ALERTS.md "Alert rules"), beside the trading rules'
alerts: what keeps the guard from doing its job, looked at every ``alerts.watch.every``.

- a hub (user or market) down longer than ``hub_down_after`` (critical; once back, an info);
- the login or the token refresh failing (critical; once it works again, an info);
- the REST circuit breaker opened (warning, at most once a look);
- the process's memory (RSS) over ``max_memory_mb``, the store (file and WAL) over
  ``max_database_mb`` (warning, once until it falls back under 90 %);
- the holiday data ending within ``holidays_within`` (warning, once a day);
- a start after an unclean stop (critical, :func:`unclean_stop`, raised by the daemon).

Each condition alerts once when it starts and, for the hubs and the login, once when it ends;
the channels' limits (runtime/alerts/limits.py) bound the rest. Every alert is the daemon's
(account ``0``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Protocol

import psutil

from risk_manager.calendar import HolidayCalendar, TradingCalendar
from risk_manager.config.durations import format_duration
from risk_manager.config.sections import WatchConfig
from risk_manager.domain.actions import Alert, Severity
from risk_manager.runtime.alerts.text import DAEMON
from risk_manager.types import Clock, Monotonic

_log = logging.getLogger(__name__)

MB = 1024 * 1024
CLEAR_BELOW = 0.9  # a size alert clears once under 90 % of its threshold


class Watched(Protocol):
    """One gateway connection as the watch sees it (runtime/session.py ``BrokerSession``)."""

    @property
    def login_problem(self) -> str | None: ...
    @property
    def breaker_openings(self) -> int: ...
    def user_stream_up(self) -> bool: ...
    def market_stream_up(self) -> bool: ...


def process_memory() -> int:
    """This process's resident set size in bytes (psutil: every platform)."""
    return int(psutil.Process().memory_info().rss)


def store_size(path: Path) -> int:
    """The store file and its -wal together, in bytes (0 for what is missing)."""
    total = 0
    for file in (path, path.with_name(path.name + "-wal")):
        with contextlib.suppress(OSError):
            total += file.stat().st_size
    return total


def unclean_stop(previous: str, at_clock: Clock) -> Alert:
    """The alert for a start that found the previous run's marker (runtime/run_marker.py)."""
    return Alert(
        at=at_clock(),
        account_id=DAEMON,
        rule="unclean_stop",
        reason=(
            f"the previous run did not stop cleanly ({previous}): it crashed or was killed; "
            "locks are restored from the store and unfinished enforcement is re-checked"
        ),
        severity=Severity.CRITICAL,
    )


class AlertWatch:
    """Looks at ``sessions``, the process and the store; raises alerts through ``send``.

    ``guarding`` says whether the daemon guards yet (hubs are watched only from then on);
    ``store`` is the store file (None: not watched); ``calendar`` holds the holiday data
    (none: not watched); ``memory`` gives the RSS in bytes; ``clock`` and ``monotonic`` the
    time. ``check()`` is one look (the tests call it); ``run()`` looks until cancelled."""

    def __init__(
        self,
        config: WatchConfig,
        sessions: Sequence[Watched],
        send: Callable[[Alert], None],
        *,
        guarding: Callable[[], bool],
        store: Path | None,
        calendar: TradingCalendar,
        clock: Clock,
        monotonic: Monotonic = time.monotonic,
        memory: Callable[[], int] = process_memory,
    ) -> None:
        self._config = config
        self._sessions = sessions
        self._send = send
        self._guarding = guarding
        self._store = store
        self._holidays: HolidayCalendar | None = calendar.holidays
        self._calendar = calendar
        self._clock = clock
        self._monotonic = monotonic
        self._memory = memory
        self._down_since: dict[str, float] = {}
        self._raised: set[str] = set()
        self._openings = [s.breaker_openings for s in sessions]
        self._holidays_checked: date | None = None

    async def run(self) -> None:
        """Look every ``every`` until cancelled; a look that fails is logged, never fatal."""
        every = self._config.every.total_seconds()
        while True:
            try:
                self.check()
            except Exception as exc:  # a watch that dies would leave the operator blind
                _log.error("alert watch failed (%s: %s); looking again", type(exc).__name__, exc)
            await asyncio.sleep(every)

    def check(self) -> list[Alert]:
        """One look; returns the alerts it raised (already sent)."""
        raised: list[Alert] = []
        for index, session in enumerate(self._sessions):
            tag = "" if len(self._sessions) == 1 else f" (connection {index + 1})"
            if self._guarding():
                for hub, up in (
                    ("user", session.user_stream_up()),
                    ("market", session.market_stream_up()),
                ):
                    raised += self._hub(f"{hub} hub{tag}", up)
            raised += self._login(f"login{tag}", session.login_problem)
            openings = session.breaker_openings
            if openings > self._openings[index]:
                raised.append(
                    self._alert(
                        "circuit_open",
                        Severity.WARNING,
                        f"the REST circuit breaker{tag} opened {openings - self._openings[index]}"
                        " time(s) since the last look: the gateway is failing requests "
                        "(enforcement keeps retrying)",
                    )
                )
                self._openings[index] = openings
        raised += self._size(
            "memory", self._memory(), self._config.max_memory_mb, "the process's memory (RSS)"
        )
        if self._store is not None:
            raised += self._size(
                "database_size",
                store_size(self._store),
                self._config.max_database_mb,
                f"the store {self._store.name}",
            )
        raised += self._holiday_data()
        for alert in raised:
            self._send(alert)
        return raised

    def _alert(self, rule: str, severity: Severity, reason: str) -> Alert:
        return Alert(
            at=self._clock(), account_id=DAEMON, rule=rule, reason=reason, severity=severity
        )

    def _hub(self, name: str, up: bool) -> list[Alert]:
        key = f"hub_down {name}"
        now = self._monotonic()
        if up:
            since = self._down_since.pop(name, None)
            if key in self._raised and since is not None:
                self._raised.discard(key)
                return [
                    self._alert(
                        "hub_down", Severity.INFO, f"the {name} is back after {now - since:.0f}s"
                    )
                ]
            return []
        since = self._down_since.setdefault(name, now)
        limit = self._config.hub_down_after
        if key not in self._raised and now - since >= limit.total_seconds():
            self._raised.add(key)
            return [
                self._alert(
                    "hub_down",
                    Severity.CRITICAL,
                    f"the {name} has been down for {now - since:.0f}s (over "
                    f"{format_duration(limit)}): events are late; reconnecting and reconciling "
                    "from REST meanwhile",
                )
            ]
        return []

    def _login(self, name: str, problem: str | None) -> list[Alert]:
        key = f"login_failing {name}"
        if problem is None:
            if key in self._raised:
                self._raised.discard(key)
                return [self._alert("login_failing", Severity.INFO, f"the {name} works again")]
            return []
        if key in self._raised:
            return []
        self._raised.add(key)
        return [
            self._alert(
                "login_failing",
                Severity.CRITICAL,
                f"the {name} or its token refresh is failing: {problem}; without a token the "
                "guard can neither see nor enforce",
            )
        ]

    def _size(self, rule: str, size: int, limit_mb: int, what: str) -> list[Alert]:
        limit = limit_mb * MB
        if rule in self._raised:
            if size < limit * CLEAR_BELOW:
                self._raised.discard(rule)
            return []
        if size <= limit:
            return []
        self._raised.add(rule)
        return [
            self._alert(
                rule,
                Severity.WARNING,
                f"{what} is {size / MB:.0f} MB, over the {limit_mb} MB threshold",
            )
        ]

    def _holiday_data(self) -> list[Alert]:
        now = self._clock()
        today = self._calendar.trading_day(now)
        if self._holidays_checked == today:
            return []
        self._holidays_checked = today
        horizon = today + self._config.holidays_within
        data = self._holidays
        if data is not None and data.coverage is not None and data.coverage[1] >= horizon:
            return []
        ends = (
            "has no known end"
            if data is None or data.coverage is None
            else (f"ends {data.coverage[1].isoformat()}")
        )
        return [
            self._alert(
                "holiday_data",
                Severity.WARNING,
                f"the exchange holiday data {ends}, within {self._config.holidays_within.days} "
                "days: past it, holidays are treated as trading days; upgrade risk-manager",
            )
        ]
