"""What keeps the daemon from guarding fully, for ``/health`` and the dashboards' header
(RULES.md §5: a guard that cannot see says so loudly; docs/API.md ``/health``).

``DaemonHealth`` reads the broker sessions (hubs up, login problems, the sweep's failures) and
the accounts' actors (reconciled yet, waiting for a re-read, the store refusing their writes);
the daemon says when it guards. It holds no state of its own but that flag and the start time:
everything else is read from the parts at the moment of asking.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from risk_manager.api.read_model import iso
from risk_manager.runtime.actor import AccountActor
from risk_manager.runtime.session import BrokerSession


class DaemonHealth:
    """The health source of one daemon over ``sessions`` and ``actors`` (the daemon's own
    mapping, filled as it starts). ``guarding`` is set by the daemon once every account is
    reconciled, after the hubs connected or the start stopped waiting for the user hub
    (``USER_HUB_FIRST``; the stream then shows as down here)."""

    def __init__(
        self,
        sessions: Sequence[BrokerSession],
        actors: Mapping[int, AccountActor],
        reload_problem: Callable[[], str | None] = lambda: None,
    ) -> None:
        self._sessions = sessions
        self._actors = actors
        self._reload_problem = reload_problem  # a refused config reload, until a good one
        self.guarding = False
        self.started_monotonic = time.monotonic()

    @property
    def accounts(self) -> int:
        """Accounts guarded (or being reconciled for the first time)."""
        return len(self._actors)

    @property
    def last_event_at(self) -> datetime | None:
        """When the last hub event arrived, on any connection."""
        seen = [s.last_event_at for s in self._sessions if s.last_event_at is not None]
        return max(seen, default=None)

    def streams(self) -> tuple[bool, bool]:
        """(user hubs up, market hubs up), over every connection."""
        user = all(s.user_stream_up() for s in self._sessions)
        market = all(s.market_stream_up() for s in self._sessions)
        return user, market

    def start_problem(self) -> str | None:
        """Why a connection cannot log in or find its accounts yet (None: every one can)."""
        return "; ".join(s.start_problem for s in self._sessions if s.start_problem) or None

    def problems(self) -> list[str]:
        """What keeps the daemon from guarding fully, in words for the header."""
        start = self.start_problem()
        problems = [start] if start else []
        actors = self._actors
        if not self.guarding and not problems:
            done = sum(1 for actor in actors.values() if actor.reconciled)
            problems.append(f"starting: {done} of {len(actors)} account(s) reconciled")
        unreconciled = sorted(i for i, actor in actors.items() if actor.needs_reconcile)
        if unreconciled:
            ids = ", ".join(map(str, unreconciled))
            problems.append(f"account(s) {ids} not reconciled with the broker yet: retrying")
        unwritten = sorted(i for i, a in actors.items() if a.enforcer.durable.failing)
        if unwritten:  # enforcement goes on from memory; the rows land when the store takes them
            ids = ", ".join(map(str, unwritten))
            problems.append(f"the store is not taking writes (account(s) {ids}): retrying")
        refused = self._reload_problem()
        if refused:
            problems.append(refused)
        for sweeper in (s.sweeper for s in self._sessions):
            if sweeper is not None and sweeper.failing_since is not None:
                problems.append(
                    f"reconciliation failing since {iso(sweeper.failing_since)}: {sweeper.failing}"
                )
        return problems
