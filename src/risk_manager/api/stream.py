"""Per-client coalescing of stream messages: a slow client gets the latest state, not a backlog.

Account and health messages are keyed (a newer view replaces an unsent older one); enforcement
entries are all kept, up to a cap beyond which the oldest unsent ones are dropped (the client
can always re-read ``/api/v1/enforcements``).
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Hashable

from risk_manager.api.read_model import ACCOUNT, CURVE, ENFORCEMENT, HEALTH
from risk_manager.types import JSON


class Coalescer:
    def __init__(self, max_entries: int = 200) -> None:
        self._pending: dict[Hashable, JSON] = {}  # insertion-ordered
        self._entries = 0
        self._max_entries = max_entries
        self._seq = itertools.count()
        self._ready = asyncio.Event()
        self.dropped = 0  # enforcement entries dropped for a slow client

    def push(self, message: JSON) -> None:
        kind = message.get("type")
        key: Hashable
        if kind == ACCOUNT:
            key = (ACCOUNT, message[ACCOUNT].get("id"))
            message = _keep_curve(message, self._pending.get(key))
        elif kind == HEALTH:
            key = (HEALTH,)
        else:
            key = (kind, next(self._seq))
            if kind == ENFORCEMENT:
                self._entries += 1
                if self._entries > self._max_entries:
                    self._drop_oldest_entry()
        self._pending[key] = message
        self._ready.set()

    def __len__(self) -> int:
        return len(self._pending)

    def take(self) -> list[JSON]:
        """Everything pending, in arrival order of each key's first message."""
        out = list(self._pending.values())
        self._pending.clear()
        self._entries = 0
        self._ready.clear()
        return out

    async def next_batch(self) -> list[JSON]:
        await self._ready.wait()
        return self.take()

    def _drop_oldest_entry(self) -> None:
        for key in self._pending:
            if isinstance(key, tuple) and key[0] == ENFORCEMENT:
                del self._pending[key]
                self._entries -= 1
                self.dropped += 1
                return


def _keep_curve(message: JSON, unsent: JSON | None) -> JSON:
    """A newer view without its P&L curve replaces an unsent one with a curve: the client has
    not had that curve yet, so the newer view carries it on (docs/API.md "Stream")."""
    if unsent is None or CURVE in message[ACCOUNT] or CURVE not in unsent[ACCOUNT]:
        return message
    return {**message, ACCOUNT: {**message[ACCOUNT], CURVE: unsent[ACCOUNT][CURVE]}}
