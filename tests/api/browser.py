"""Headless Chromium for the web-dashboard tests (never downloads a browser)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str | None:
    """``RM_CHROMIUM`` if set, else the first Chromium found on this machine."""
    explicit = os.environ.get("RM_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).exists() else None
    for name in CANDIDATES:
        found = shutil.which(name) if not name.startswith("/") else name
        if found and Path(found).exists():
            return found
    return None
