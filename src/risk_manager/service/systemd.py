"""The systemd unit (systemd.service(5), systemd.exec(5)): a ``Type=notify`` service that
says READY and feeds the watchdog from its event loop (``notify``), restarted whatever the
exit, run as a dedicated system user in a read-only system with only its data and log folders
writable. A trader without root can neither stop it (``systemctl stop`` asks for root) nor
edit its files (owned by the service user, 0600/0700, set by ``service install``)."""

from __future__ import annotations

from risk_manager.service.spec import (
    DESCRIPTION,
    RESTART_DELAY_S,
    STOP_TIMEOUT_S,
    WATCHDOG_S,
    ServiceSpec,
)


def _quote(word: str) -> str:
    # systemd splits ExecStart= on spaces; a word with one is double-quoted (systemd.syntax(7)).
    if any(c in word for c in ' "\\'):
        return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return word


def unit_name(spec: ServiceSpec) -> str:
    """``risk-manager.service``."""
    return f"{spec.name}.service"


def unit_text(spec: ServiceSpec) -> str:
    """The unit file's text for ``/etc/systemd/system/<name>.service``."""
    exec_start = " ".join(_quote(word) for word in spec.run_args())
    writable = " ".join(_quote(str(p)) for p in (spec.data_dir, spec.log_dir))
    sections: dict[str, list[tuple[str, object]]] = {
        "Unit": [
            ("Description", DESCRIPTION),
            ("Wants", "network-online.target"),
            ("After", "network-online.target"),
            # Never give up restarting: an unguarded account is worse than a restart loop.
            ("StartLimitIntervalSec", 0),
        ],
        "Service": [
            ("Type", "notify"),
            ("NotifyAccess", "main"),
            ("ExecStart", exec_start),
            ("User", spec.user),
            ("Group", spec.user),
            # Read by systemd (as root) before the switch to User=: the credentials reach the
            # daemon's environment, and the file itself stays root's (0600).
            ("EnvironmentFile", str(spec.env_file)),
            ("WorkingDirectory", str(spec.data_dir)),
            ("Restart", "always"),
            ("RestartSec", RESTART_DELAY_S),
            ("WatchdogSec", WATCHDOG_S),
            ("TimeoutStartSec", 60),
            ("TimeoutStopSec", STOP_TIMEOUT_S),
            ("KillMode", "mixed"),
            ("UMask", "0077"),
            ("NoNewPrivileges", "yes"),
            ("ProtectSystem", "strict"),
            ("ProtectHome", "yes"),
            ("PrivateTmp", "yes"),
            ("PrivateDevices", "yes"),
            ("ProtectKernelTunables", "yes"),
            ("ProtectKernelModules", "yes"),
            ("ProtectControlGroups", "yes"),
            ("RestrictSUIDSGID", "yes"),
            ("LockPersonality", "yes"),
            ("ReadWritePaths", writable),
        ],
        "Install": [("WantedBy", "multi-user.target")],
    }
    lines = ["# Written by `risk-manager service install`; regenerate rather than edit."]
    for section, entries in sections.items():
        lines.append(f"\n[{section}]")
        lines.extend(f"{key}={value}" for key, value in entries)
    return "\n".join(lines) + "\n"


def env_file_text(username: str | None, api_key: str | None) -> str:
    """The credentials' environment file (systemd.exec(5) ``EnvironmentFile=``); an unknown
    value is left as an empty assignment for the operator to fill in."""
    return (
        "# The gateway login of the risk-manager service (root-only, 0600).\n"
        f"PROJECTX_USERNAME={username or ''}\n"
        f"PROJECTX_API_KEY={api_key or ''}\n"
    )
