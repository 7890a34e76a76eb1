"""What the terminal dashboard knows: the latest views, applied from stream messages."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from risk_manager.types import JSON

MAX_LOG = 500
CONNECTING = "connecting…"  # the note before the first connection attempt ends


@dataclass
class DashboardState:
    accounts: dict[int, JSON] = field(default_factory=dict)
    log: list[JSON] = field(default_factory=list)  # newest first
    health: JSON | None = None
    connected: bool = False
    connection_note: str = CONNECTING
    down_since: datetime | None = None  # when the daemon was last heard of (None: live)
    history: JSON | None = None  # GET /api/v1/history, read at each connect and each minute
    settings: JSON = field(default_factory=dict)  # the daemon's, from the stream's snapshot
    seen_locks: set[tuple[int, object]] | None = None  # None: before the first snapshot

    def apply(self, message: JSON) -> int:
        """Apply one stream message; returns how many locks it shows that were not seen
        before (0 for the first snapshot: what is there when the dashboard opens is not new)."""
        kind = message.get("type")
        if kind == "snapshot":
            self.accounts = {int(a["id"]): a for a in message.get("accounts", [])}
            self.log = list(message.get("enforcements", []))[:MAX_LOG]
            self.health = message.get("health")
            self.settings = dict(message.get("settings") or {})
            return self._new_locks(self.accounts.values())
        if kind == "account":
            view = message["account"]
            if "pnl_curve" not in view:  # sent only when it changed (docs/API.md "Stream")
                before = self.accounts.get(int(view["id"])) or {}
                view = {**view, "pnl_curve": before.get("pnl_curve", [])}
            self.accounts[int(view["id"])] = view
            return self._new_locks([view])
        if kind == "enforcement":
            # The daemon re-sends an entry when its outcome arrives: it replaces the shown one.
            entry = message["entry"]
            rest = [e for e in self.log if e.get("id") != entry.get("id")]
            self.log = [entry, *rest][:MAX_LOG]
        elif kind == "health":
            self.health = message["health"]
        return 0

    def _new_locks(self, views: Iterable[JSON]) -> int:
        keys = {(int(v["id"]), lock.get("id")) for v in views for lock in v.get("locks", [])}
        if self.seen_locks is None:
            self.seen_locks = keys
            return 0
        new = keys - self.seen_locks
        self.seen_locks |= new
        return len(new)

    def set_connection(self, connected: bool, note: str, now: datetime | None = None) -> None:
        """Live, or lost (``note`` says why); ``now``: when it was lost (the first loss of
        an outage is kept: "unreachable since" does not move with each retry)."""
        self.connected = connected
        self.connection_note = note
        if connected:
            self.down_since = None
        elif self.down_since is None and now is not None:
            self.down_since = now

    def sorted_accounts(self) -> list[JSON]:
        return [self.accounts[k] for k in sorted(self.accounts)]
