"""An in-memory ReadModel: the runtime pushes views in, the API reads and streams them.

The runtime may use it as its read side (call ``put_account`` after each engine step); tests
and the demo use it as the fake.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from risk_manager.api.read_model import ACCOUNT, CURVE, ENFORCEMENT, HEALTH, ReadModel
from risk_manager.types import JSON

_DEFAULT_HEALTH: JSON = {
    "status": "ok",
    "uptime": 0.0,
    "accounts_monitored": 0,
    "signalr_connected": True,
    "database_accessible": True,
    "last_event": None,
    "hubs": {"user": {"connected": True}, "market": {"connected": True}},
}


class MemoryReadModel:
    """Holds the latest view of each account, the enforcement log and health; fans out changes."""

    def __init__(self, *, log_size: int = 1000) -> None:
        self._accounts: dict[int, JSON] = {}
        self._log: deque[JSON] = deque(maxlen=log_size)  # oldest first
        self._health: JSON = dict(_DEFAULT_HEALTH)
        self._subscribers: list[asyncio.Queue[JSON]] = []
        self._history: JSON = {"days": [], "ended_locks": [], "time_zone": "America/Chicago",
                               "time_zone_label": "CT"}  # fmt: skip

    # -- ReadModel -------------------------------------------------------------------------
    async def current(self) -> None:
        """Nothing to do: the views are pushed in."""

    async def current_health(self) -> None:
        """Nothing to do: health is pushed in."""

    def health(self) -> JSON:
        return {**self._health, "accounts_monitored": len(self._accounts)}

    def accounts(self) -> list[JSON]:
        return [self._accounts[k] for k in sorted(self._accounts)]

    def account(self, account_id: int) -> JSON | None:
        return self._accounts.get(account_id)

    async def enforcements(self, account_id: int | None, limit: int) -> list[JSON]:
        out: list[JSON] = []
        for entry in reversed(self._log):
            if account_id is None or entry.get("account_id") == account_id:
                out.append(entry)
                if len(out) >= limit:
                    break
        return out

    async def history(self, days: int) -> JSON:
        """The history set by ``set_history``, cut to ``days`` trading days."""
        return {**self._history, "days": list(self._history["days"])[:days]}

    def subscribe(self) -> asyncio.Queue[JSON]:
        queue: asyncio.Queue[JSON] = asyncio.Queue()
        self._subscribers.append(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[JSON]) -> None:
        if queue in self._subscribers:
            self._subscribers.remove(queue)

    # -- writers (the runtime's side) ------------------------------------------------------
    def put_account(self, view: JSON, *, stream_curve: bool = True) -> None:
        """Replace an account's view and stream it; without ``stream_curve`` the streamed
        message leaves ``pnl_curve`` out (unchanged since it was last streamed: clients keep
        the one they have, docs/API.md "Stream"). The view kept for snapshots and reads
        always has it."""
        self._accounts[int(view["id"])] = view
        if not stream_curve:
            view = {k: v for k, v in view.items() if k != CURVE}
        self._publish({"type": ACCOUNT, ACCOUNT: view})

    def update_account(self, account_id: int, **changes: Any) -> JSON:
        """Shallow-merge ``changes`` into an account's view and stream the result."""
        view = {**self._accounts[account_id], **changes}
        self.put_account(view)
        return view

    def record_enforcement(self, entry: JSON) -> None:
        """Append to the enforcement log and stream the entry."""
        self._log.append(entry)
        self._publish({"type": ENFORCEMENT, "entry": entry})

    def set_health(self, **changes: Any) -> None:
        """Merge ``changes`` into the health view and stream it."""
        self._health = {**self._health, **changes}
        self._publish({"type": HEALTH, HEALTH: self.health()})

    def set_history(self, history: JSON) -> None:
        """Replace what ``history`` answers (the demo and tests seed past days)."""
        self._history = history

    @property
    def subscriber_count(self) -> int:
        return len(self._subscribers)

    def _publish(self, message: JSON) -> None:
        for queue in self._subscribers:
            queue.put_nowait(message)


def _conforms(model: MemoryReadModel) -> ReadModel:  # mypy proves it implements the Protocol
    return model
