"""The desktop alert channel (docs/ALERTS.md "Desktop"): a notification on the trader's screen
through the platform's own notifier, ``notify-send`` on Linux (needs a graphical session) and
``osascript`` on macOS. Windows has none built in that a console service can reach: the
channel is skipped there, and wherever the notifier is missing, with the reason in the log."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from collections.abc import Mapping
from typing import Any

from risk_manager.runtime.alerts.text import headline

TIMEOUT = 10.0  # seconds a notifier may take


def _applescript(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def notifier(
    platform: str = sys.platform, env: Mapping[str, str] | None = None
) -> tuple[list[str] | None, str]:
    """(the notifier's command before its title and text, why) or (None, why there is none)."""
    environ = os.environ if env is None else env
    if platform.startswith("linux"):
        found = shutil.which("notify-send", path=environ.get("PATH"))
        if found is None:
            return None, "notify-send is not installed (Debian/Ubuntu: apt install libnotify-bin)"
        if not (environ.get("DISPLAY") or environ.get("WAYLAND_DISPLAY")):
            return None, "no graphical session (DISPLAY/WAYLAND_DISPLAY unset), as for a service"
        return [found, "--app-name=risk-manager"], "notify-send"
    if platform == "darwin":
        found = shutil.which("osascript", path=environ.get("PATH"))
        if found is None:
            return None, "osascript not found"
        return [found, "-e"], "osascript"
    return None, f"no desktop notifier for {platform} in this release: use email or a webhook"


class DesktopSender:
    """Shows one alert's JSON as a notification with ``command`` (from :func:`notifier`);
    raises ``RuntimeError`` when the notifier exits non-zero or hangs."""

    def __init__(self, command: list[str]) -> None:
        self._command = command

    async def __call__(self, body: dict[str, Any]) -> None:
        title, text = headline(body), str(body.get("reason", ""))
        if self._command[-1] == "-e":  # osascript: one AppleScript line
            script = f"display notification {_applescript(text)} with title {_applescript(title)}"
            args = [*self._command, script]
        else:
            urgency = "critical" if body.get("severity") == "critical" else "normal"
            args = [*self._command, f"--urgency={urgency}", title, text]
        proc = await asyncio.create_subprocess_exec(
            *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
        try:
            async with asyncio.timeout(TIMEOUT):
                _, err = await proc.communicate()
        except TimeoutError:
            proc.kill()
            await proc.wait()
            raise RuntimeError(f"{args[0]} did not finish within {TIMEOUT:g}s") from None
        if proc.returncode != 0:
            raise RuntimeError(f"{args[0]} exited {proc.returncode}: {err.decode()[:200]}")
