"""De-duplication and rate limits of the alert channels (docs/ALERTS.md "Limits"), per channel:
the same alert (rule, account, text) goes out once per ``dedupe``, and at most ``rate_limit``
alerts of one rule per ``window``. The log channel has no limit: every alert is in the log."""

from __future__ import annotations

import logging
from collections import deque
from datetime import datetime, timedelta

from risk_manager.config.durations import format_duration
from risk_manager.domain.actions import Alert
from risk_manager.types import Clock

_log = logging.getLogger("risk_manager.alerts")


class AlertLimits:
    """Decides, for each alert and channel, whether it is sent; ``suppressed`` counts the
    alerts held back per (channel, rule)."""

    def __init__(self, dedupe: timedelta, rate_limit: int, window: timedelta, clock: Clock):
        self._dedupe = dedupe
        self._rate_limit = rate_limit
        self._window = window
        self._clock = clock
        # (channel, rule, account, text) -> when last sent; the texts are mostly new (a lock's
        # reason names its fill and end), so keys older than ``dedupe`` are dropped once per
        # ``dedupe`` (``_prune_at``): the dict holds the last two windows' alerts at most
        self._last_sent: dict[tuple[str, str, int, str], datetime] = {}
        self._prune_at: datetime | None = None
        self._sent: dict[tuple[str, str], deque[datetime]] = {}
        self.suppressed: dict[tuple[str, str], int] = {}
        self._limited: dict[tuple[str, str], int] = {}  # held back by the rate limit alone

    def allow(self, channel: str, alert: Alert) -> bool:
        """True when ``alert`` may go to ``channel`` now (and counts it as sent)."""
        now = self._clock()
        if self._prune_at is None or now >= self._prune_at:
            self._forget_expired(now)
        same = (channel, alert.rule, alert.account_id, alert.reason)
        last = self._last_sent.get(same)
        if last is not None and now - last < self._dedupe:
            return self._hold(channel, alert, "the same alert was sent", quiet=True)
        sent = self._sent.setdefault((channel, alert.rule), deque())
        while sent and now - sent[0] >= self._window:
            sent.popleft()
        if len(sent) >= self._rate_limit:
            return self._hold(channel, alert, f"{self._rate_limit} {alert.rule} alerts were sent")
        sent.append(now)
        self._last_sent[same] = now
        return True

    def _forget_expired(self, now: datetime) -> None:
        """Drop the sends older than ``dedupe``: they hold nothing back any more."""
        self._last_sent = {k: t for k, t in self._last_sent.items() if now - t < self._dedupe}
        self._prune_at = now + self._dedupe

    def _hold(self, channel: str, alert: Alert, why: str, *, quiet: bool = False) -> bool:
        key = (channel, alert.rule)
        self.suppressed[key] = self.suppressed.get(key, 0) + 1
        if quiet:  # a repeat: nothing new was held back
            return False
        count = self._limited.get(key, 0) + 1
        self._limited[key] = count
        if count in (1, 10, 100, 1000):
            _log.warning(
                "alert %s: %s alert(s) of %s held back by the rate limit (%s within %s); "
                "they are in the log",
                channel,
                count,
                alert.rule,
                why,
                format_duration(self._window),
            )
        return False
