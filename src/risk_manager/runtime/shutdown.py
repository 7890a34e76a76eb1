"""Shutdown in named, bounded phases (DESIGN.md style 11; aiohttp's runner does the same).

A service manager waits ``SERVICE_STOP_TIMEOUT`` after SIGTERM before it kills the process, and
a killed guard leaves enforcement half done, so every phase of the stop has a bound and the
bounds add up to less than that, the local API's own shutdown (the command's, after the
daemon's phases) included. A phase that overruns is cut at its bound, said once at ERROR, and
the next phase runs: a hanging webhook must not keep the store from closing.

The daemon's phases, in order (``DAEMON_PHASES``):

- ``intake``: cancel the actors and every background task (no event is taken after this);
- ``enforcement``: let enforcement in flight finish (``ENFORCEMENT_GRACE``), then cancel it;
- ``alerts``: the webhook queue and the outbox writer settle (runtime/alerts/), what is left
  stays in the store's outbox for the next start;
- ``connections``: the hubs and the REST client close;
- ``store``: the store closes and its hold is released.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

_log = logging.getLogger(__name__)

SERVICE_STOP_TIMEOUT = 10.0  # seconds between SIGTERM and a kill that the stop must fit in
ENFORCEMENT_GRACE = 5.0  # seconds for in-flight enforcement to finish at shutdown


@dataclass(frozen=True, slots=True)
class Phase:
    """One named step of a stop and the most seconds it may take."""

    name: str
    bound: float


DAEMON_PHASES = (
    Phase("intake", 0.25),
    Phase("enforcement", ENFORCEMENT_GRACE + 0.25),  # the grace, then the cancellations
    Phase("alerts", 2.25),  # the channels' own 2 s grace, then closing their session
    Phase("connections", 0.5),
    Phase("store", 0.25),
)


def total(phases: Sequence[Phase]) -> float:
    """The longest ``phases`` may take together, in seconds."""
    return sum(phase.bound for phase in phases)


async def run_phases(
    steps: Sequence[tuple[Phase, Callable[[], Awaitable[object]]]],
) -> dict[str, float]:
    """Run each step's callable in order, each cut at its phase's bound; returns the seconds
    each phase took, by name. A step that fails or overruns is logged (no traceback for an
    overrun: a hanging peer is expected) and the next one runs."""
    took: dict[str, float] = {}
    for phase, step in steps:
        started = time.monotonic()
        try:
            async with asyncio.timeout(phase.bound):
                await step()
        except TimeoutError:
            _log.error("shutdown: %s cut after its %.2f s bound", phase.name, phase.bound)
        except OSError as exc:  # a peer or a file that would not close: expected, said once
            _log.error("shutdown: %s failed: %s", phase.name, exc)
        except Exception:  # a fault of ours: said loudly, and the stop goes on
            _log.exception("shutdown: %s failed", phase.name)
        took[phase.name] = time.monotonic() - started
    return took


__all__ = ["DAEMON_PHASES", "Phase", "run_phases", "total"]
