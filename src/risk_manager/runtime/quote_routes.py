"""Which accounts need which contract's quotes: a contract → accounts index, kept up to date
lazily (RULES.md §1: a position is valued at its contract's quotes).

An account's contracts (its positions and working orders) change only after an event that can
move them; the actor says so (``changed``), and the account's contracts are read again the next
time the index is asked, not on every event: a view per account per event would tax the
enforcement path (measured by ``bench e2e``). A quote then reaches the accounts holding its
contract in one lookup, not a scan of every account.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

_log = logging.getLogger(__name__)


class QuoteRoutes:
    """Contract id → the ids of the accounts that need its quotes.

    ``contracts_of(account_id)`` reads an account's contracts (positions and working orders)
    from its engine; it may raise, and the account is then read again at the next ask."""

    def __init__(self, contracts_of: Callable[[int], frozenset[str]]) -> None:
        self._contracts_of = contracts_of
        self._held: dict[int, frozenset[str]] = {}  # account -> its contracts, as last read
        self._by_contract: dict[str, set[int]] = {}
        self._stale: set[int] = set()
        self._failing = False  # logged once per failure spell, not once per quote

    def changed(self, account_id: int) -> None:
        """The account's positions or orders may have changed: read them at the next ask."""
        self._stale.add(account_id)

    def accounts_for(self, contract_id: str) -> frozenset[int]:
        """The accounts with a position or working order in ``contract_id``. An account whose
        contracts cannot be read is left as it was (logged) and read again next time."""
        try:
            self.refresh()
        except Exception as exc:  # the hub's receive loop must go on: the others still route
            if not self._failing:
                _log.warning("quote routes not updated (retried at each quote): %s", exc)
            self._failing = True
        else:
            if self._failing:
                _log.info("quote routes up to date again")
            self._failing = False
        return frozenset(self._by_contract.get(contract_id, ()))

    def contracts(self) -> set[str]:
        """Every contract some account needs quotes of. Raises what ``contracts_of`` raised
        (the accounts that failed stay to be read again)."""
        self.refresh()
        return set(self._by_contract)

    def refresh(self) -> None:
        """Read the changed accounts' contracts again; raises the first failure once every
        other account is read."""
        stale, self._stale = self._stale, set()
        failure: Exception | None = None
        for account_id in stale:
            try:
                held = self._contracts_of(account_id)
            except Exception as exc:
                self._stale.add(account_id)
                failure = failure or exc
                continue
            self._move(account_id, held)
        if failure is not None:
            raise failure

    def _move(self, account_id: int, held: frozenset[str]) -> None:
        before = self._held.get(account_id, frozenset())
        if held == before:  # the usual case: a quote or a tick changed nothing it holds
            return
        for contract_id in before - held:
            routed = self._by_contract[contract_id]
            routed.discard(account_id)
            if not routed:
                del self._by_contract[contract_id]
        for contract_id in held - before:
            self._by_contract.setdefault(contract_id, set()).add(account_id)
        self._held[account_id] = held
