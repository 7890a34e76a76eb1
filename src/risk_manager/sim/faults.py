"""Fault switches the control API flips and the REST middleware obeys."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Faults:
    latency_ms: int = 0  # every REST reply is delayed this long
    http_status: dict[str, list[int]] = field(default_factory=dict)  # path -> [status, remaining]

    def take_status(self, path: str) -> int | None:
        """The injected status for the next request to ``path``, consuming one use."""
        entry = self.http_status.get(path)
        if entry is None:
            return None
        status, remaining = entry
        if remaining <= 1:
            del self.http_status[path]
        else:
            entry[1] = remaining - 1
        return status

    def clear(self) -> None:
        self.latency_ms = 0
        self.http_status.clear()
