"""Per-account rule memory: what the rules must remember across events and restarts.

RULES.md §3 (details): RULE-016's peak and floor are state, not a fresh computation. So are
RULE-012's order tags and best prices, the tags of the orders we placed (RULES.md §1: an order
is ours only if we recorded it) and the warn-once marks (once per period). A rule's
measurement never writes here: the engine updates the memory in ``process()`` (through
:meth:`Rule.remember` and its own bookkeeping), the runtime persists it next to the locks
whenever :attr:`RuleMemory.version` moves, and restores it before the first event.

Everything stored is plain JSON (strings, numbers, lists, mappings): money is a decimal
string, an instant an ISO-8601 string.
"""

from __future__ import annotations

import copy
from collections import deque
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from risk_manager.domain.models import tag_number

ENGINE_KEY = "_engine"  # the engine's own memory (warn marks, our order tags)
OUR_TAGS_KEPT = 1000  # our latest tags remembered: far more than can be working at once

_EMPTY: Mapping[str, Any] = MappingProxyType({})


# Stored prices and amounts are read back on every quote (RULE-012's best price, twice a
# quote): the same few texts, so their parse is memoised (a Decimal is immutable, and making
# one from text is exact whatever the decimal context).
_parse = lru_cache(maxsize=1024)(Decimal)


def dec(value: Any) -> Decimal | None:
    """A stored money value back as a Decimal (None stays None). Raises
    ``decimal.InvalidOperation`` for text that is no number."""
    return None if value is None else _parse(str(value))


class RuleMemory:
    """One account's memory: ``{rule key: {name: JSON value}}``.

    ``version`` moves on every change, so the runtime persists only when something changed.
    ``our_tags`` (the ``customTag`` of every order we placed, newest last) is a live set that
    the account's ledger reads to tell our orders from the trader's (RULES.md §1)."""

    def __init__(self) -> None:
        self._data: dict[str, dict[str, Any]] = {}
        self.version = 0
        self.our_tags: set[str] = set()
        self._tag_order: deque[str] = deque()
        # (key, name) -> (the stored value, its Decimal): see decimal()
        self._decimals: dict[tuple[str, str], tuple[Any, Decimal]] = {}

    def get(self, key: str) -> Mapping[str, Any]:
        """The read-only memory of one rule key (empty when nothing is remembered)."""
        found = self._data.get(key)
        return _EMPTY if found is None else MappingProxyType(found)

    def value(self, key: str, name: str, default: Any = None) -> Any:
        """One stored value of ``key`` (``default`` when absent), without the read-only view
        :meth:`get` builds: for the reads on every quote. The caller must not change it."""
        found = self._data.get(key)
        return default if found is None else found.get(name, default)

    def decimal(self, key: str, name: str) -> Decimal | None:
        """:func:`dec` of one stored value, parsed once while the stored value stays the
        same object (an update stores a new one): RULE-016's floor is read on every quote."""
        found = self._data.get(key)  # self.value(key, name), inlined: read on every quote
        raw = None if found is None else found.get(name)
        if raw is None:
            return None
        known = self._decimals.get((key, name))
        if known is not None and known[0] is raw:
            return known[1]
        parsed = _parse(str(raw))
        self._decimals[(key, name)] = (raw, parsed)
        return parsed

    def update(self, key: str, values: Mapping[str, Any]) -> None:
        """Set ``values`` under ``key``; the version moves only when something differs."""
        slot = self._data.setdefault(key, {})
        changed = False
        for name, value in values.items():
            if slot.get(name) != value:
                slot[name] = copy.deepcopy(value)
                changed = True
        if changed:
            self.version += 1

    # -- the engine's own memory ------------------------------------------------------------

    def warned(self, rule_key: str, period: str) -> bool:
        """Whether ``rule_key``'s ``warn_at`` alert was sent in ``period`` (a day/week label);
        marks it sent when not (warn once per period, across restarts)."""
        marks = self._data.get(ENGINE_KEY, {}).get("warned", {})
        if marks.get(rule_key) == period:
            return True
        self.update(ENGINE_KEY, {"warned": {**marks, rule_key: period}})
        return False

    def placed(self, tags: Iterable[str]) -> None:
        """Record the ``customTag`` of orders we are placing (before the broker answers: its
        order event must already find the tag ours)."""
        new = [t for t in tags if t not in self.our_tags]
        if not new:
            return
        for tag in new:
            self.our_tags.add(tag)
            self._tag_order.append(tag)
        while len(self._tag_order) > OUR_TAGS_KEPT:
            self.our_tags.discard(self._tag_order.popleft())
        n = self.tags_placed()
        for tag in new:  # tags end in their number (rm-sl-7-12), which may skip a trader's
            number = tag_number(tag)
            n = max(n + 1, number) if number >= 0 else n + 1
        self.update(ENGINE_KEY, {"our_tags": list(self._tag_order), "tags_placed": n})

    def tags_placed(self) -> int:
        """How many order tags this account has used, ever (RULE-012 numbers its tags on
        from here: the gateway refuses a ``customTag`` used before on the account)."""
        return int(self._data.get(ENGINE_KEY, {}).get("tags_placed", 0))

    def seed_tags(self, at: datetime) -> None:
        """When nothing is known of the account's tags (a new store, or one lost), number
        them on from ``at`` in milliseconds: past any number an earlier run, whose store is
        gone, could have used (the gateway refuses a repeated ``customTag`` for ever).
        Nothing changes when a tag count is known."""
        if self.tags_placed() == 0:
            self.update(ENGINE_KEY, {"tags_placed": int(at.timestamp() * 1000)})

    # -- persistence ------------------------------------------------------------------------

    def to_json(self) -> dict[str, dict[str, Any]]:
        """A deep copy, safe to hand to another thread for writing."""
        return copy.deepcopy(self._data)

    def restore(self, data: Mapping[str, Mapping[str, Any]]) -> None:
        """Replace the memory with one loaded from the store (before the first event).

        Raises ``ValueError`` for data that is not ``{key: {name: value}}``."""
        if not isinstance(data, Mapping) or not all(
            isinstance(k, str) and isinstance(v, Mapping) for k, v in data.items()
        ):
            raise ValueError(f"rule memory must map rule keys to mappings, got {data!r}")
        tags = data.get(ENGINE_KEY, {}).get("our_tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise ValueError(f"rule memory: our_tags must be a list of tags, got {tags!r}")
        self._data = {k: copy.deepcopy(dict(v)) for k, v in data.items()}
        self._tag_order = deque(str(t) for t in tags)
        self.our_tags.clear()  # the same set object: the ledger holds it
        self.our_tags.update(self._tag_order)
