"""The daemon's admin control, as the admin API sees it (docs/ADMIN.md).

The API (``api/admin.py``) calls these three acts; the daemon implements them. Every result
is plain JSON-ready data: ``before`` and ``after`` never carry a secret. An unknown account or
lock raises a :class:`risk_manager.domain.errors.RiskManagerError` subclass (the API answers
404 for a ``LookupError`` one, 409 for any other, with the error's message).

Standard library only, so the API can import it without importing the runtime.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class ReloadResult:
    """A reload: ``ok`` False when refused (``reasons`` say why; the old config stays in
    force). ``before``/``after``: what changed (JSON-ready, no secrets); ``effective_at``:
    now, or when the last delayed loosening takes effect; ``summary``: in words."""

    ok: bool
    summary: str
    effective_at: datetime
    reasons: list[str] = field(default_factory=list)
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ClearResult:
    """Locks cleared: ``effective_at`` is now, or when ``admin.unlock_delay`` ends."""

    summary: str
    effective_at: datetime
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ResetResult:
    """A manual daily reset of one account: ``effective_at`` as for a clearing."""

    summary: str
    effective_at: datetime
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)


class AdminControl(Protocol):
    """The daemon's control: what an admin may change while it runs."""

    async def reload(self, *, who: str, reason: str) -> ReloadResult:
        """Read the config file again and apply it atomically, or refuse it with reasons."""
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
