"""Headless Chromium for the web-dashboard tests (never downloads a browser)."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

NO_CHROMIUM = "no Chromium executable found (set RM_CHROMIUM or install chromium)"
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


@asynccontextmanager
async def chromium_page(width: int = 1400, height: int = 1000) -> AsyncIterator[Any]:
    """A page in headless Chromium whose script errors collect in ``page.errors``. Skips the
    test (printing why) when no Chromium is found."""
    path = chromium_path()
    if path is None:
        print(f"SKIP: {NO_CHROMIUM}")
        pytest.skip(NO_CHROMIUM)
    from playwright.async_api import async_playwright  # only the browser tests need it

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=path, args=ARGS)
        try:
            page = await browser.new_page(viewport={"width": width, "height": height})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.errors = errors  # type: ignore[attr-defined]  # the tests' own attribute
            yield page
        finally:
            await browser.close()
