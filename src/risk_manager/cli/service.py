"""``risk-manager service install|uninstall|start|stop|status``: the daemon as a system
service that keeps running without anyone logged in and that a trader without administrator
rights can neither stop nor edit (docs/INSTALL.md).

``install`` validates the config as installed, then writes the folders, files and service
definition of ``service/plan.py`` and registers the service; ``--dry-run`` prints all of it
and changes nothing (any OS, any user)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path, PurePath
from typing import Annotated

import typer

from risk_manager.config.errors import ConfigError
from risk_manager.config.loader import parse_config
from risk_manager.config.models import MASK
from risk_manager.service import systemd, winsw
from risk_manager.service.plan import (
    InstallPlan,
    control_command,
    install_plan,
    uninstall_files,
    wrapper_path,
)
from risk_manager.service.spec import Platform, ServiceSpec, current_platform, default_spec

service_app = typer.Typer(
    name="service",
    help="Install and control the daemon as a system service (systemd, WinSW, launchd).",
    no_args_is_help=True,
)

EXIT_REFUSED = 2
PLATFORMS = ("linux", "win32", "darwin")
PROTECTED_HOMES = (PurePath("/home"), PurePath("/root"), PurePath("/Users"))

PlatformOption = Annotated[
    str | None,
    typer.Option(
        "--platform",
        help="linux, win32 or darwin (default: this machine's); another one only with --dry-run.",
        show_default=False,
    ),
]


class _Placeholders(Mapping[str, str]):
    """The environment with a placeholder for every unset variable: the installed config's
    ``${PROJECTX_API_KEY}`` is the service's to fill, not the installer's."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def __getitem__(self, key: str) -> str:
        return self._env.get(key, "placeholder")

    def __contains__(self, key: object) -> bool:
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(self._env)

    def __len__(self) -> int:
        return len(self._env)


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(EXIT_REFUSED)


def _spec(platform: str | None, executable: Path | None, dry_run: bool) -> ServiceSpec:
    here = current_platform()
    chosen = platform or here
    if chosen not in PLATFORMS:
        raise _fail(f"--platform must be one of {', '.join(PLATFORMS)}, got {chosen!r}")
    if chosen != here and not dry_run:
        raise _fail(f"this machine is {here}: --platform {chosen} works only with --dry-run")
    name: Platform = "linux" if chosen == "linux" else "win32" if chosen == "win32" else "darwin"
    return default_spec(name, executable.absolute() if executable else None)


def _check_config(spec: ServiceSpec, source: Path) -> str:
    """The config's text, once it validates as installed: its store must be inside the data
    folder (the only one the service may write)."""
    try:
        text = source.read_text(encoding="utf-8")
        config = parse_config(text, str(source), _Placeholders(os.environ))
    except OSError as exc:
        raise _fail(f"cannot read {source}: {exc.strerror}") from None
    except ConfigError as exc:
        for problem in exc.problems:
            typer.echo(f"{source}: {problem}", err=True)
        raise typer.Exit(EXIT_REFUSED) from None
    # Resolved as the service will (a relative path from the installed config's folder), in
    # the target platform's path rules: a dry run for Windows works on Linux too.
    store = type(spec.config_dir)(str(config.store.path))
    if not store.is_absolute():
        store = spec.config_dir / store
    if store.parent != spec.data_dir:
        raise _fail(
            f"the store would be {store}, outside {spec.data_dir} (the only folder the service "
            f"may write): set `store: {{path: {spec.data_dir / 'risk-manager.sqlite'}}}` in "
            f"{source}"
        )
    return text


def _print_plan(spec: ServiceSpec, plan: InstallPlan) -> None:
    for d in plan.dirs:
        mode = f" mode {d.mode:04o}" if d.mode is not None else ""
        typer.echo(f"# folder {d.path} (owner {d.owner}{mode})")
    for f in plan.files:
        mode = f" mode {f.mode:04o}" if f.mode is not None else ""
        keep = "" if f.replace else ", kept if it exists"
        typer.echo(f"# file {f.path} (owner {f.owner}{mode}{keep})")
        typer.echo(f.text.rstrip("\n"))
        typer.echo("")
    if spec.platform == "win32":
        typer.echo(f"# copy WinSW.exe to {wrapper_path(spec)}")
    for command in plan.commands:
        typer.echo("$ " + " ".join(command))


@service_app.command()
def install(
    config: Annotated[
        Path, typer.Option("--config", "-c", help="The YAML config to install.", dir_okay=False)
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the files and commands; change nothing.")
    ] = False,
    platform: PlatformOption = None,
    executable: Annotated[
        Path | None,
        typer.Option(help="The risk-manager command the service runs (default: this one)."),
    ] = None,
    winsw_exe: Annotated[
        Path | None, typer.Option("--winsw", help="Windows: the downloaded WinSW executable.")
    ] = None,
) -> None:
    """Install the service: a dedicated account, its folders (0700) and files (0600), the
    service definition, enabled at boot. Needs root (sudo) or an elevated prompt."""
    spec = _spec(platform, executable, dry_run)
    text = _check_config(spec, config)
    if any(PurePath(spec.executable).is_relative_to(home) for home in PROTECTED_HOMES):
        raise _fail(
            f"{spec.executable} is under a home folder, which the service cannot read "
            "(ProtectHome); install risk-manager into /opt as docs/INSTALL.md shows"
        )
    api_key = os.environ.get("PROJECTX_API_KEY")
    if dry_run and api_key:
        api_key = MASK  # printed, so never the secret itself
    credentials = systemd.env_file_text(os.environ.get("PROJECTX_USERNAME"), api_key)
    plan = install_plan(spec, text, credentials)
    if dry_run:
        _print_plan(spec, plan)
        return
    _require_admin(spec)
    if spec.platform == "win32":
        if winsw_exe is None or not winsw_exe.is_file():
            raise _fail("--winsw PATH to the WinSW executable is needed on Windows")
        shutil.copyfile(winsw_exe, str(wrapper_path(spec)))
    _ensure_user(spec)
    _apply(plan)
    typer.echo(f"installed {spec.name}; start it with: risk-manager service start")
    if spec.platform == "win32":
        typer.echo("the folders' ACLs were set by: " + "; ".join(winsw.icacls_lines(spec)))


def _require_admin(spec: ServiceSpec) -> None:
    if sys.platform == "win32":
        import ctypes

        if not ctypes.windll.shell32.IsUserAnAdmin():
            raise _fail("run this from an elevated prompt (Run as administrator)")
        return
    if os.geteuid() != 0:
        raise _fail(
            f"installing a system service needs root: run it with sudo, e.g. "
            f"`sudo {spec.executable} service install --config ...` (or --dry-run to see "
            "what it would write)"
        )


def _ensure_user(spec: ServiceSpec) -> None:
    if spec.platform == "win32" or sys.platform == "win32":
        return  # a built-in service account
    import pwd

    try:
        pwd.getpwnam(spec.user)
        return
    except KeyError:
        pass
    if spec.platform == "darwin":
        raise _fail(f"create the role user {spec.user} first (docs/INSTALL.md, macOS)")
    _run(
        [
            "useradd",
            "--system",
            "--no-create-home",
            "--home-dir",
            str(spec.data_dir),
            "--shell",
            "/usr/sbin/nologin",
            spec.user,
        ]
    )


def _chown(path: str, owner: str) -> None:
    if sys.platform != "win32":
        shutil.chown(path, owner, None if owner == "root" else owner)


def _apply(plan: InstallPlan) -> None:
    for d in plan.dirs:
        Path(str(d.path)).mkdir(parents=True, exist_ok=True)
        if d.mode is not None:
            os.chmod(d.path, d.mode)
            _chown(str(d.path), d.owner)
    for f in plan.files:
        target = Path(str(f.path))
        if target.exists() and not f.replace:
            typer.echo(f"kept {target} (already there)")
        else:
            fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, f.mode or 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(f.text)
        if f.mode is not None:
            os.chmod(target, f.mode)
            _chown(str(target), f.owner)
    for command in plan.commands:
        _run(command)


def _run(command: list[str]) -> int:
    try:
        return subprocess.run(command, check=True).returncode
    except FileNotFoundError:
        raise _fail(f"{command[0]} not found: is this the machine's service manager?") from None
    except subprocess.CalledProcessError as exc:
        raise _fail(f"`{' '.join(command)}` failed (exit {exc.returncode})") from None


def _control(action: str, platform: str | None) -> None:
    spec = _spec(platform, None, dry_run=False)
    command = control_command(spec, action)
    try:
        code = subprocess.run(command, check=False).returncode
    except FileNotFoundError:
        raise _fail(f"{command[0]} not found: is this the machine's service manager?") from None
    if code != 0:
        raise typer.Exit(code)


@service_app.command()
def uninstall(platform: PlatformOption = None) -> None:
    """Stop the service and remove its definition; the config, credentials, store and logs
    stay (the store holds the locks)."""
    spec = _spec(platform, None, dry_run=False)
    _require_admin(spec)
    if spec.platform == "win32":
        _control("stop", platform)
    _control("uninstall", platform)
    for path in uninstall_files(spec):
        Path(str(path)).unlink(missing_ok=True)
    if spec.platform == "linux":
        _run(["systemctl", "daemon-reload"])
    typer.echo(f"uninstalled {spec.name}; {spec.config_dir} and {spec.data_dir} were kept")


@service_app.command()
def start(platform: PlatformOption = None) -> None:
    """Start the service (the service manager's own command: needs root/administrator)."""
    _control("start", platform)


@service_app.command()
def stop(platform: PlatformOption = None) -> None:
    """Stop the service (needs root/administrator: a trader cannot stop the guard)."""
    _control("stop", platform)


@service_app.command()
def status(platform: PlatformOption = None) -> None:
    """The service manager's view of the service; exit non-zero when it is not running."""
    _control("status", platform)
