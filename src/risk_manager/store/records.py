"""Row types the store returns besides the domain's ``Lock`` and ``Trade``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any


class JournalOutcome(StrEnum):
    CONFIRMED = "confirmed"  # the broker's events (or a REST read) show it done
    FAILED = "failed"  # the broker refused or it could not be verified after retries
    SUPERSEDED = "superseded"  # a later action made it moot (e.g. a flatten replaced a close)
    ABANDONED = "abandoned"  # found unfinished after a restart and judged no longer needed


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One enforcement action: written before it is sent, finished with its outcome."""

    id: int
    account_id: int
    rule: str
    kind: str
    intent: dict[str, Any]
    created_at: datetime
    sent_at: datetime | None = None
    outcome: JournalOutcome | None = None
    outcome_detail: str | None = None
    finished_at: datetime | None = None

    @property
    def is_finished(self) -> bool:
        return self.outcome is not None


@dataclass(frozen=True, slots=True)
class Timer:
    account_id: int
    name: str
    fires_at: datetime
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PnlSnapshot:
    """The account's P&L at one instant. ``unrealized``/``net`` None = unknown (no mark)."""

    account_id: int
    trading_day: date
    realized: Decimal
    unrealized: Decimal | None
    net: Decimal | None
    balance: Decimal | None
    peak_net: Decimal | None
    taken_at: datetime
    id: int | None = None


@dataclass(frozen=True, slots=True)
class AuditEntry:
    id: int
    at: datetime
    actor: str
    action: str
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """One alert in the webhook outbox (docs/RUNTIME.md "Alert delivery"): ``body`` is the JSON
    posted, ``alert_id`` its ``id`` (the receiver's key to drop a repeat). Undelivered while
    ``delivered_at`` and ``given_up_at`` are both None; ``attempts`` and ``last_error`` are
    written when it ends."""

    id: int
    alert_id: str
    account_id: int
    severity: str
    body: dict[str, Any]
    created_at: datetime
    attempts: int = 0
    last_error: str | None = None
    delivered_at: datetime | None = None
    given_up_at: datetime | None = None

    @property
    def is_finished(self) -> bool:
        return self.delivered_at is not None or self.given_up_at is not None


@dataclass(frozen=True, slots=True)
class PendingLoosening:
    """A rule change that loosens, waiting for ``admin.loosen_delay`` (docs/RULES.md §2):
    ``rule`` is a rule key, ``"engine"`` (the engine-wide settings of ``rules:``) or
    ``"admin"`` (account 0: the ``admin:`` section); ``before`` the settings in force,
    ``after`` those applied at ``due_at`` (JSON, as the config dumps them; no secrets)."""

    account_id: int
    rule: str
    before: dict[str, Any]
    after: dict[str, Any]
    due_at: datetime
    created_at: datetime
