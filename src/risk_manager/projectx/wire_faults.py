"""``WireFaults``: records rejected at the wire boundary, counted and logged without a flood.

Every rejection is counted per (source, target, fault): ``source`` is the hub (``user``,
``market``) or ``rest``, ``target`` the hub event or REST endpoint, ``fault`` a
``wire_values.Fault``. The first rejection of a kind is logged at WARNING with what was wrong
(field, the value's type, the record's id); later ones are logged only when their count
reaches 10, 100, 1000, ... (one line each, carrying the count), so a gateway sending the same
bad field on every frame costs a handful of lines a day. No traceback: the fault is the
gateway's data, not our code.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable

from risk_manager.projectx.wire_values import WireError

_log = logging.getLogger(__name__)

#: ``(source, target, fault)``, called on every rejection (the daemon counts it on /metrics).
OnReject = Callable[[str, str, str], None]


def _is_power_of_ten(n: int) -> bool:
    while n % 10 == 0:
        n //= 10
    return n == 1


class WireFaults:
    """Counts and logs rejected wire records; one instance per daemon, shared by hubs and REST."""

    def __init__(self, on_reject: OnReject | None = None) -> None:
        self.on_reject = on_reject
        self._counts: Counter[tuple[str, str, str]] = Counter()

    def reject(self, source: str, target: str, error: WireError) -> None:
        """Count one rejected record (or reply) and log it if it is the 1st, 10th, 100th..."""
        key = (source, target, str(error.fault))
        self._counts[key] += 1
        n = self._counts[key]
        if self.on_reject is not None:
            self.on_reject(*key)
        if _is_power_of_ten(n):
            _log.warning(
                "%s %s: record rejected, not used: %s [%s, %d so far; logged again at %d]",
                source,
                target,
                error,
                error.fault,
                n,
                n * 10,
            )

    def count(self, source: str | None = None, target: str | None = None) -> int:
        """Rejections so far, all or those of one source and/or target."""
        return sum(
            n
            for (s, t, _), n in self._counts.items()
            if source in (None, s) and target in (None, t)
        )
