"""What the demo reads back from the daemon: its enforcement log and account view, over the
same local API the dashboards use. Each guard action is narrated once, when it is finished."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import aiohttp

from risk_manager.types import JSON

Say = Callable[[str], None]
POLL = 0.2  # seconds between reads of the enforcement log

FINISHED = frozenset({"confirmed", "failed", "superseded", "abandoned"})


def describe(entry: JSON) -> str:
    """One line for a finished enforcement entry, e.g. ``max_contracts → close_position
    (confirmed): gross contracts 4 > 2 …``."""
    reason = str(entry.get("reason", ""))
    rule = str(entry.get("rule", ""))
    reason = reason.removeprefix(f"{rule}: ")
    detail = entry.get("detail")
    extra = f" [{detail}]" if detail and entry.get("kind") != "alert" else ""
    return f"{rule} → {entry.get('kind')} ({entry.get('outcome')}): {reason}{extra}"


class GuardWatcher:
    """Reads ``/api/v1/enforcements`` and ``/api/v1/accounts/{id}`` of the daemon."""

    def __init__(self, session: aiohttp.ClientSession, api_url: str, account_id: int, say: Say):
        self._session = session
        self._api_url = api_url.rstrip("/")
        self.account_id = account_id
        self._say = say
        self._told: set[int] = set()
        self.entries: dict[int, JSON] = {}  # every entry seen, by id

    async def _get(self, path: str, **params: str) -> JSON:
        async with self._session.get(f"{self._api_url}{path}", params=params) as resp:
            resp.raise_for_status()
            body: JSON = await resp.json()
            return body

    async def account(self) -> JSON:
        return await self._get(f"/api/v1/accounts/{self.account_id}")

    async def poll(self) -> list[JSON]:
        """Read the log; narrate entries that finished since the last read (oldest first)."""
        body = await self._get("/api/v1/enforcements", account=str(self.account_id), limit="200")
        rows: list[JSON] = list(reversed(body.get("enforcements", [])))
        for row in rows:
            self.entries[int(row["id"])] = row
            if row.get("outcome") in FINISHED and row["id"] not in self._told:
                self._told.add(int(row["id"]))
                who = "guard alert" if row.get("kind") == "alert" else "guard"
                self._say(f"  {who}: {describe(row)}")
        return rows

    def last_id(self) -> int:
        return max(self.entries, default=0)

    async def wait_for(
        self, after: int, wanted: Callable[[JSON], bool], within: float
    ) -> JSON | None:
        """The first finished entry newer than ``after`` that ``wanted`` accepts, or None."""
        deadline = time.monotonic() + within
        while True:
            for row in await self.poll():
                if int(row["id"]) > after and row.get("outcome") in FINISHED and wanted(row):
                    return row
            if time.monotonic() >= deadline:
                return None
            await asyncio.sleep(POLL)

    async def settle(self, seconds: float) -> None:
        """Keep narrating for ``seconds`` (lets follow-up actions show up in order)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            await self.poll()
            await asyncio.sleep(min(POLL, max(0.0, deadline - time.monotonic())))
        await self.poll()


def is_action(rule: str, *kinds: str) -> Callable[[JSON], bool]:
    return lambda row: row.get("rule") == rule and row.get("kind") in kinds
