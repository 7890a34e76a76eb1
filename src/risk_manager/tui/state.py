"""What the terminal dashboard knows: the latest views, applied from stream messages."""

from __future__ import annotations

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

    def apply(self, message: JSON) -> None:
        kind = message.get("type")
        if kind == "snapshot":
            self.accounts = {int(a["id"]): a for a in message.get("accounts", [])}
            self.log = list(message.get("enforcements", []))[:MAX_LOG]
            self.health = message.get("health")
        elif kind == "account":
            view = message["account"]
            self.accounts[int(view["id"])] = view
        elif kind == "enforcement":
            # The daemon re-sends an entry when its outcome arrives: it replaces the shown one.
            entry = message["entry"]
            rest = [e for e in self.log if e.get("id") != entry.get("id")]
            self.log = [entry, *rest][:MAX_LOG]
        elif kind == "health":
            self.health = message["health"]

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
