"""Locks (RULES.md §2): rows that keep their history; an account is locked while any is active."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class LockKind(StrEnum):
    HARD = "hard"  # flatten and keep flat
    SOFT = "soft"  # block entries only; exits allowed
    EXTERNAL = "external"  # mirrored from the broker's canTrade: false; never fought


@dataclass(frozen=True, slots=True)
class Lock:
    account_id: int
    rule: str  # config key of the rule that made it
    kind: LockKind
    reason: str
    created_at: datetime
    ends_at: datetime | None  # None = until an admin clears it (or the broker, for external)
    # When a clearing takes effect: at once, or in the future while admin.unlock_delay runs
    # (the lock holds and is enforced until then; RULES.md §2 "Clearings and loosenings").
    cleared_at: datetime | None = None
    cleared_by: str | None = None
    id: int | None = None  # store row id once persisted
    clear_reason: str | None = None  # why an admin cleared it early (audited)

    def is_active(self, now: datetime) -> bool:
        """Held at ``now``: not yet at its end, and not cleared by then."""
        if self.cleared_at is not None and now >= self.cleared_at:
            return False
        return self.ends_at is None or now < self.ends_at

    def clearing_pending(self, now: datetime) -> bool:
        """Cleared, but the clearing takes effect only later (the unlock delay runs)."""
        return self.cleared_at is not None and now < self.cleared_at and self.is_active(now)


def same_lock(a: Lock, b: Lock) -> bool:
    """The same lock seen by the engine and by the store, whose ids may differ (the engine
    numbers a lock before the store writes its row): same account, rule, kind, start, end."""
    return (
        a.account_id == b.account_id
        and a.rule == b.rule
        and a.kind is b.kind
        and a.created_at == b.created_at
        and a.ends_at == b.ends_at
    )
