"""The unclean-stop marker (docs/ALERTS.md "Alert rules"): a file beside the store,
``<store>.running``, written when the daemon starts and removed when it stops cleanly. Found at
a start, it means the previous run ended without its stop (a crash, a kill, a power loss): the
operator is alerted, and the daemon goes on as usual (the journal's unfinished actions are
re-checked, the locks restored from the store)."""

from __future__ import annotations

import json
import os
import socket
from datetime import datetime
from pathlib import Path


def marker_path(store: Path | str) -> Path:
    """``<store>.running`` beside the store file."""
    path = Path(store)
    return path.with_name(path.name + ".running")


class RunMarker:
    """The marker of one store's runs."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._written = False

    def begin(self, now: datetime) -> str | None:
        """Write the marker for this run; returns what the previous run's marker said (its
        pid, host and start, in words) when it was still there, else None."""
        previous: str | None = None
        try:
            note = json.loads(self.path.read_text(encoding="utf-8"))
            previous = f"pid {note['pid']} on {note['host']}, started {note['since']}"
        except FileNotFoundError:
            pass
        except (OSError, ValueError, KeyError, TypeError):
            previous = "a run whose marker could not be read"
        note = {"pid": os.getpid(), "host": socket.gethostname(), "since": now.isoformat()}
        self.path.write_text(json.dumps(note), encoding="utf-8")
        self._written = True
        return previous

    def end(self) -> None:
        """Remove the marker: this run stopped cleanly. Nothing when ``begin`` never ran."""
        if self._written:
            self.path.unlink(missing_ok=True)
            self._written = False
