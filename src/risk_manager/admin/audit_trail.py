"""One audit row per admin act (docs/ADMIN.md "Audit"): who, what, before and after (secrets
masked by the caller's data: no secret ever reaches here), and the reason."""

from __future__ import annotations

import getpass
from datetime import datetime
from typing import Any

from risk_manager.store.ports import AuditStore


def cli_actor() -> str:
    """``admin@cli (<os user>)``: the admin at this machine's terminal."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        user = "unknown"
    return f"admin@cli ({user})"


def api_actor(client: str | None) -> str:
    """``admin@<client address>``: the admin logged in through the API."""
    return f"admin@{client or 'unknown'}"


def record(
    audit: AuditStore,
    who: str,
    action: str,
    at: datetime,
    *,
    reason: str = "",
    before: Any = None,
    after: Any = None,
    **detail: Any,
) -> int:
    """Write the act's row (``detail``: ``reason``, ``before``, ``after`` and the rest);
    returns its id."""
    return audit.audit(
        who, action, {"reason": reason, "before": before, "after": after, **detail}, at
    )
