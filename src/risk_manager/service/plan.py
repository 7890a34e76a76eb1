"""What ``service install`` does on each platform, as data: the folders and files it writes
(path, content, mode, owner) and the commands it runs, so ``--dry-run`` prints exactly what a
real install performs and tests check it on any OS.

Modes are POSIX (Linux, macOS); on Windows the folders' ACLs are set by the generated
``icacls`` lines instead (``winsw.icacls_lines``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import PurePath, PurePosixPath, PureWindowsPath

from risk_manager.service import launchd, systemd, winsw
from risk_manager.service.spec import ServiceSpec

SYSTEMD_DIR = PurePosixPath("/etc/systemd/system")
LAUNCH_DAEMONS = PurePosixPath("/Library/LaunchDaemons")
ROOT = "root"


@dataclass(frozen=True, slots=True)
class PlannedDir:
    """A folder to create (``mode`` POSIX only; None on Windows), owned by ``owner``."""

    path: PurePath
    mode: int | None
    owner: str


@dataclass(frozen=True, slots=True)
class PlannedFile:
    """A file to write with ``text``; ``replace`` False keeps an existing one (the operator's
    config and credentials survive a re-install)."""

    path: PurePath
    text: str
    mode: int | None
    owner: str
    replace: bool = True


@dataclass(frozen=True, slots=True)
class InstallPlan:
    """Everything one install does, in order: folders, files, then commands."""

    dirs: list[PlannedDir] = field(default_factory=list)
    files: list[PlannedFile] = field(default_factory=list)
    commands: list[list[str]] = field(default_factory=list)


def wrapper_path(spec: ServiceSpec) -> PureWindowsPath:
    """Where the WinSW executable is copied, renamed after the service (WinSW reads the XML
    of its own name beside it)."""
    return PureWindowsPath(spec.config_dir.parent) / f"{spec.name}-service.exe"


def install_plan(spec: ServiceSpec, config_text: str, credentials: str) -> InstallPlan:
    """The install of ``spec``: ``config_text`` becomes the installed config, ``credentials``
    the environment file (Linux; elsewhere the config holds them, protected by the folder)."""
    if spec.platform == "linux":
        user = spec.user
        return InstallPlan(
            dirs=[
                PlannedDir(spec.config_dir, 0o700, user),
                PlannedDir(spec.data_dir, 0o700, user),
                PlannedDir(spec.log_dir, 0o700, user),
            ],
            files=[
                PlannedFile(spec.config, config_text, 0o600, user, replace=False),
                PlannedFile(spec.env_file, credentials, 0o600, ROOT, replace=False),
                PlannedFile(
                    SYSTEMD_DIR / systemd.unit_name(spec), systemd.unit_text(spec), 0o644, ROOT
                ),
            ],
            commands=[
                ["systemctl", "daemon-reload"],
                ["systemctl", "enable", systemd.unit_name(spec)],
            ],
        )
    if spec.platform == "darwin":
        plist = LAUNCH_DAEMONS / f"{launchd.label(spec)}.plist"
        return InstallPlan(
            dirs=[
                PlannedDir(spec.config_dir, 0o700, spec.user),
                PlannedDir(spec.data_dir, 0o700, spec.user),
                PlannedDir(spec.log_dir, 0o700, spec.user),
            ],
            files=[
                PlannedFile(spec.config, config_text, 0o600, spec.user, replace=False),
                PlannedFile(plist, launchd.plist_bytes(spec).decode(), 0o644, ROOT),
            ],
            commands=[["launchctl", "bootstrap", "system", str(plist)]],
        )
    wrapper = wrapper_path(spec)
    return InstallPlan(
        dirs=[
            PlannedDir(spec.config_dir.parent, None, "Administrators"),
            PlannedDir(spec.config_dir, None, "Administrators"),
            PlannedDir(spec.data_dir, None, "Administrators"),
            PlannedDir(spec.log_dir, None, "Administrators"),
        ],
        files=[
            PlannedFile(spec.config, config_text, None, "Administrators", replace=False),
            PlannedFile(wrapper.with_suffix(".xml"), winsw.winsw_xml(spec), None, "Administrators"),
        ],
        commands=[
            *(["cmd", "/c", line] for line in winsw.icacls_lines(spec)),
            [str(wrapper), "install"],
        ],
    )


def control_command(spec: ServiceSpec, action: str) -> list[str]:
    """The service manager's command for ``action`` (start, stop, status, uninstall)."""
    if spec.platform == "linux":
        unit = systemd.unit_name(spec)
        verb = {"uninstall": "disable", "status": "status"}.get(action, action)
        extra = ["--now"] if action == "uninstall" else []
        return ["systemctl", verb, *extra, unit, *(["--no-pager"] if action == "status" else [])]
    if spec.platform == "darwin":
        target = f"system/{launchd.label(spec)}"
        return {
            "start": ["launchctl", "kickstart", target],
            "stop": ["launchctl", "kill", "SIGTERM", target],
            "status": ["launchctl", "print", target],
            "uninstall": ["launchctl", "bootout", target],
        }[action]
    return [str(wrapper_path(spec)), action]


def uninstall_files(spec: ServiceSpec) -> list[PurePath]:
    """The service manager's files ``uninstall`` removes; config, credentials, data and logs
    stay (the store holds the locks)."""
    if spec.platform == "linux":
        return [SYSTEMD_DIR / systemd.unit_name(spec)]
    if spec.platform == "darwin":
        return [LAUNCH_DAEMONS / f"{launchd.label(spec)}.plist"]
    return [wrapper_path(spec).with_suffix(".xml")]
