"""The daemon's admin control as the admin surface sees it (issue 13): reload the config,
clear locks, reset an account's day. ``runtime/control.py`` ``DaemonControl`` implements it;
the admin API and CLI call it and write the audit row from each result."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class ReloadResult:
    """A reload: ``ok`` False when refused (``reasons`` say why; the old config stays in
    force). ``before``/``after``: what changed (JSON-ready, no secrets); ``effective_at``:
    now, or when the last delayed loosening takes effect; ``summary``: in words."""

    ok: bool
    reasons: list[str]
    before: dict[str, Any]
    after: dict[str, Any]
    effective_at: datetime
    summary: str


@dataclass(frozen=True)
class ClearResult:
    """Locks cleared: ``effective_at`` is now, or when ``admin.unlock_delay`` ends."""

    before: dict[str, Any]
    after: dict[str, Any]
    effective_at: datetime
    summary: str


@dataclass(frozen=True)
class ResetResult:
    """A manual daily reset of one account: ``effective_at`` as for a clearing."""

    before: dict[str, Any]
    after: dict[str, Any]
    effective_at: datetime
    summary: str


class AdminControl(Protocol):
    """What the admin can make the running daemon do (docs/RUNTIME.md "Control")."""

    async def reload(self, *, who: str, reason: str) -> ReloadResult:
        """Re-read and apply the config file (refused, with reasons, when invalid)."""
        ...

    async def clear_lock(
        self, account_id: int, lock_id: int | None, *, who: str, reason: str
    ) -> ClearResult:
        """Clear one lock, or (None) every active lock of the account, after
        ``admin.unlock_delay``. Raises ``UnknownAccount`` / ``UnknownLock``."""
        ...

    async def reset_account(self, account_id: int, *, who: str, reason: str) -> ResetResult:
        """A manual daily reset of one account, after ``admin.unlock_delay``. Raises
        ``UnknownAccount``."""
        ...
