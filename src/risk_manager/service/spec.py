"""What a service install needs to know, shared by every platform's file generator: the
service's name, the account it runs as, the command it runs and the folders it owns.

Defaults follow each platform's convention (FHS on Linux, ``%ProgramData%`` on Windows,
``/Library`` on macOS); ``cli/service.py`` builds the spec from the command line."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath
from typing import Literal

Platform = Literal["linux", "win32", "darwin"]

NAME = "risk-manager"
DESCRIPTION = "risk-manager: real-time risk guard for ProjectX Gateway futures accounts"
#: The service manager restarts a dead daemon after this long (seconds): long enough not to
#: spin on a config error, short enough that an account is unguarded only briefly.
RESTART_DELAY_S = 5
#: systemd kills a daemon whose event loop has not pinged for this long (seconds); the daemon
#: pings every third of it (``notify.watchdog_interval``).
WATCHDOG_S = 30
#: A stop is given this long before the service manager kills the process (seconds): the
#: daemon's bounded shutdown phases add up to at most 10 s (docs/ARCHITECTURE.md "Shutdown").
STOP_TIMEOUT_S = 15


def current_platform() -> Platform:
    """The platform this process runs on, as the generators name it."""
    if sys.platform == "win32":
        return "win32"
    if sys.platform == "darwin":
        return "darwin"
    return "linux"


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    """One service install. ``executable`` is the ``risk-manager`` console script to run
    (absolute); ``config`` the YAML file the service reads (installed copy); ``data_dir``
    holds the store, ``log_dir`` the logs, ``config_dir`` the config and the credentials'
    environment file. ``user`` is the dedicated account the daemon runs as (Linux: a system
    user; Windows: a service account such as ``NT AUTHORITY\\LocalService``; macOS: a role
    user ``_risk-manager``)."""

    platform: Platform
    executable: PurePath
    config_dir: PurePath
    data_dir: PurePath
    log_dir: PurePath
    user: str
    name: str = NAME

    @property
    def config(self) -> PurePath:
        """The installed config file."""
        return self.config_dir / "config.yaml"

    @property
    def env_file(self) -> PurePath:
        """The credentials (``PROJECTX_USERNAME``, ``PROJECTX_API_KEY``), readable by the
        service's user alone; the config refers to them as ``${...}``."""
        return self.config_dir / "credentials.env"

    def run_args(self) -> list[str]:
        """The daemon's command line (the foreground console daemon; the manager keeps it
        alive)."""
        return [str(self.executable), "run", "--config", str(self.config)]


def default_spec(platform: Platform, executable: PurePath | None = None) -> ServiceSpec:
    """The conventional layout for ``platform``; ``executable`` defaults to the
    ``risk-manager`` script beside the running interpreter."""
    if executable is None:
        executable = Path(sys.executable).with_name(
            "risk-manager.exe" if platform == "win32" else "risk-manager"
        )
    if platform == "win32":
        root = PureWindowsPath(r"C:\ProgramData\risk-manager")
        return ServiceSpec(
            platform=platform,
            executable=PureWindowsPath(executable),
            config_dir=root / "config",
            data_dir=root / "data",
            log_dir=root / "logs",
            user=r"NT AUTHORITY\LocalService",
        )
    if platform == "darwin":
        return ServiceSpec(
            platform=platform,
            executable=PurePosixPath(executable),
            config_dir=PurePosixPath("/Library/Application Support/risk-manager"),
            data_dir=PurePosixPath("/Library/Application Support/risk-manager/data"),
            log_dir=PurePosixPath("/Library/Logs/risk-manager"),
            user="_risk-manager",
        )
    return ServiceSpec(
        platform=platform,
        executable=PurePosixPath(executable),
        config_dir=PurePosixPath("/etc/risk-manager"),
        data_dir=PurePosixPath("/var/lib/risk-manager"),
        log_dir=PurePosixPath("/var/log/risk-manager"),
        user=NAME,
    )
