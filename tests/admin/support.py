"""Shared parts of the admin tests: a config file with comments, a fake daemon control."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from risk_manager.domain.errors import RiskManagerError
from risk_manager.runtime.control_port import ClearResult, ReloadResult, ResetResult
from risk_manager.store.errors import LockNotFound

NOW = datetime(2026, 3, 10, 19, 30, tzinfo=UTC)
PASSWORD = "correct horse battery"
API_KEY = "pxk_live_SECRET_4f9a1c77e2"

CONFIG = """\
# The desk's config: keep this comment.
broker:
  username: trader
  api_key: ${PROJECTX_API_KEY:-}   # env reference, replaced by credentials set

accounts:
  mode: all
  list:
    - id: 1001
      name: 50K combine   # the small one

rules:
  daily_net_loss:      # RULE-015: Topstep's daily loss limit
    enabled: true
    limit: 1000        # dollars, keep this comment too
  max_contracts:
    enabled: true
    limit: 5
"""


def write_config(folder: Path) -> Path:
    """The sample config file (comments and all) in ``folder``."""
    path = folder / "config.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


class Refused(RiskManagerError):
    """A control refusal that is not a lookup (the API answers 409)."""


@dataclass
class FakeControl:
    """Records each call; ``reload_ok`` False refuses reloads; account 404 is unknown."""

    calls: list[tuple[str, object]] = field(default_factory=list)
    reload_ok: bool = True

    async def reload(self, *, who: str, reason: str) -> ReloadResult:
        self.calls.append(("reload", (who, reason)))
        reasons = [] if self.reload_ok else ["rules.max_contracts.limit: refused"]
        return ReloadResult(
            ok=self.reload_ok, reasons=reasons, effective_at=NOW, summary="reloaded"
        )

    async def clear_lock(
        self, account_id: int, lock_id: int | None, *, who: str, reason: str
    ) -> ClearResult:
        self.calls.append(("clear_lock", (account_id, lock_id, who, reason)))
        if lock_id == 404:
            raise LockNotFound(lock_id)
        if account_id == 409:
            raise Refused("account 409 has no lock to clear")
        return ClearResult(
            before={"locks": [lock_id]}, after={"locks": []}, effective_at=NOW, summary="cleared"
        )

    async def reset_account(self, account_id: int, *, who: str, reason: str) -> ResetResult:
        self.calls.append(("reset_account", (account_id, who, reason)))
        return ResetResult(
            before={"realized": "-900.00"},
            after={"realized": "0.00"},
            effective_at=NOW,
            summary="reset",
        )
