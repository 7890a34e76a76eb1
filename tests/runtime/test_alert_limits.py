"""The alert channels' limits (runtime/alerts/limits.py): the de-duplication memory is kept
only for the ``dedupe`` window, as every lock's alert text is new."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from risk_manager.domain.actions import Alert, Severity
from risk_manager.runtime.alerts.limits import AlertLimits

T0 = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


def _alert(n: int) -> Alert:
    return Alert(
        at=T0, account_id=1, rule="daily_net_loss", reason=f"lock {n}", severity=Severity.WARNING
    )


def test_the_dedupe_memory_holds_only_the_last_windows_alerts() -> None:
    now = [T0]
    limits = AlertLimits(timedelta(minutes=10), 1000, timedelta(minutes=1), lambda: now[0])
    for n in range(600):  # a new text a minute for ten hours
        assert limits.allow("webhook", _alert(n))
        now[0] += timedelta(minutes=1)
    assert len(limits._last_sent) <= 20  # two windows of one a minute, not 600


def test_a_repeat_within_dedupe_is_still_held_back_across_a_prune() -> None:
    now = [T0]
    limits = AlertLimits(timedelta(minutes=10), 1000, timedelta(minutes=1), lambda: now[0])
    assert limits.allow("webhook", _alert(1))
    now[0] += timedelta(minutes=9)
    assert limits.allow("webhook", _alert(2))
    now[0] += timedelta(minutes=2)  # past the first prune time: alert 1 expired, 2 not
    assert limits.allow("webhook", _alert(1))
    assert not limits.allow("webhook", _alert(2))
    now[0] += timedelta(minutes=8, seconds=1)
    assert limits.allow("webhook", _alert(2))
