"""The launchd job (launchd.plist(5)) for macOS: a LaunchDaemon kept alive whatever its exit,
run as a role user, its output in the log folder."""

from __future__ import annotations

import plistlib

from risk_manager.service.spec import RESTART_DELAY_S, STOP_TIMEOUT_S, ServiceSpec


def label(spec: ServiceSpec) -> str:
    """The job's label, also the plist's file name: ``local.risk-manager``."""
    return f"local.{spec.name}"


def plist_bytes(spec: ServiceSpec) -> bytes:
    """The XML plist for ``/Library/LaunchDaemons/<label>.plist`` (root-owned, 0644)."""
    job = {
        "Label": label(spec),
        "ProgramArguments": spec.run_args(),
        "RunAtLoad": True,
        "KeepAlive": True,  # relaunched after any exit, clean or not
        "ThrottleInterval": RESTART_DELAY_S,
        "ExitTimeOut": STOP_TIMEOUT_S,
        "UserName": spec.user,
        "GroupName": spec.user,
        "WorkingDirectory": str(spec.data_dir),
        "Umask": 0o077,
        "StandardOutPath": str(spec.log_dir / "daemon.out.log"),
        "StandardErrorPath": str(spec.log_dir / "daemon.err.log"),
        "ProcessType": "Interactive",  # not throttled by App Nap: enforcement is latency-bound
    }
    return plistlib.dumps(job, fmt=plistlib.FMT_XML)
