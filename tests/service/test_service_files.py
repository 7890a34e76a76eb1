"""The service definitions each platform's manager reads, generated and parsed back: the
systemd unit key by key (and by `systemd-analyze verify` where it exists), the launchd plist
through plistlib, the WinSW XML through ElementTree, and the icacls lines."""

from __future__ import annotations

import configparser
import plistlib
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path, PurePosixPath, PureWindowsPath

import pytest

from risk_manager.service import launchd, systemd, winsw
from risk_manager.service.spec import STOP_TIMEOUT_S, WATCHDOG_S, default_spec

EXE = Path(sys.executable).with_name("risk-manager")


def _unit(text: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    parser.read_string(text)
    return parser


def test_the_systemd_unit_is_a_notify_service_with_a_watchdog_locked_down() -> None:
    spec = default_spec("linux", EXE)
    unit = _unit(systemd.unit_text(spec))
    service = unit["Service"]
    assert service["Type"] == "notify"
    assert service["NotifyAccess"] == "main"
    assert service["WatchdogSec"] == str(WATCHDOG_S)
    assert service["Restart"] == "always"
    assert unit["Unit"]["StartLimitIntervalSec"] == "0"  # never gives up restarting
    assert service["User"] == service["Group"] == "risk-manager"
    assert service["ProtectSystem"] == "strict"
    assert service["NoNewPrivileges"] == "yes"
    assert service["ProtectHome"] == "yes"
    assert service["UMask"] == "0077"
    assert service["ReadWritePaths"].split() == ["/var/lib/risk-manager", "/var/log/risk-manager"]
    assert service["ExecStart"] == f"{EXE} run --config /etc/risk-manager/config.yaml"
    assert service["EnvironmentFile"] == "/etc/risk-manager/credentials.env"
    # The manager waits longer for a stop than the daemon's bounded shutdown takes (10 s).
    assert int(service["TimeoutStopSec"]) == STOP_TIMEOUT_S > 10
    assert unit["Install"]["WantedBy"] == "multi-user.target"


def test_a_path_with_a_space_is_quoted_in_exec_start() -> None:
    spec = default_spec("linux", PurePosixPath("/opt/risk manager/bin/risk-manager"))
    service = _unit(systemd.unit_text(spec))["Service"]
    assert service["ExecStart"].startswith('"/opt/risk manager/bin/risk-manager" run')


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_systemd_analyze_verifies_the_unit(tmp_path: Path) -> None:
    unit = tmp_path / "risk-manager.service"
    unit.write_text(systemd.unit_text(default_spec("linux", EXE)))
    done = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    # verify only warns about keys it cannot parse: any such line is a broken unit.
    assert "ignoring" not in output and "Unknown" not in output, output


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_systemd_analyze_would_catch_a_broken_unit(tmp_path: Path) -> None:
    # The check above can fail: a bad value in the same unit is reported.
    unit = tmp_path / "risk-manager.service"
    unit.write_text(systemd.unit_text(default_spec("linux", EXE)).replace("notify", "notifyy"))
    done = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    assert "ignoring" in done.stdout + done.stderr


def test_the_credentials_file_holds_both_variables() -> None:
    text = systemd.env_file_text("trader", "k3y")
    pairs = dict(line.split("=", 1) for line in text.splitlines() if not line.startswith("#"))
    assert pairs == {"PROJECTX_USERNAME": "trader", "PROJECTX_API_KEY": "k3y"}


def test_the_launchd_plist_keeps_the_daemon_alive_as_its_role_user() -> None:
    spec = default_spec("darwin", PurePosixPath("/opt/risk-manager/bin/risk-manager"))
    job = plistlib.loads(launchd.plist_bytes(spec))
    assert job["Label"] == "local.risk-manager"
    assert job["KeepAlive"] is True
    assert job["RunAtLoad"] is True
    assert job["UserName"] == "_risk-manager"
    assert job["ProgramArguments"] == [
        "/opt/risk-manager/bin/risk-manager",
        "run",
        "--config",
        "/Library/Application Support/risk-manager/config.yaml",
    ]
    assert job["Umask"] == 0o077
    assert job["ExitTimeOut"] == STOP_TIMEOUT_S
    assert job["StandardErrorPath"].startswith("/Library/Logs/risk-manager/")


def test_the_winsw_xml_restarts_on_failure_rolls_logs_and_runs_as_local_service() -> None:
    exe = PureWindowsPath(r"C:\Program Files\risk-manager\Scripts\risk-manager.exe")
    spec = default_spec("win32", exe)
    root = ET.fromstring(winsw.winsw_xml(spec))
    assert root.tag == "service"
    assert root.findtext("id") == "risk-manager"
    assert root.findtext("executable") == str(exe)
    assert (
        root.findtext("arguments") == r"run --config C:\ProgramData\risk-manager\config\config.yaml"
    )
    assert root.findtext("startmode") == "Automatic"
    failures = root.findall("onfailure")
    assert failures and all(f.get("action") == "restart" for f in failures)
    assert root.findtext("stoptimeout") == f"{STOP_TIMEOUT_S} sec"
    log = root.find("log")
    assert log is not None and log.get("mode") == "roll-by-size"
    assert int(log.findtext("keepFiles") or 0) > 1
    assert root.findtext("logpath") == r"C:\ProgramData\risk-manager\logs"
    account = root.find("serviceaccount")
    assert account is not None
    assert (account.findtext("domain"), account.findtext("user")) == (
        "NT AUTHORITY",
        "LocalService",
    )


def test_the_icacls_lines_close_every_folder_to_all_but_admins_system_and_the_service() -> None:
    spec = default_spec("win32", PureWindowsPath(r"C:\rm\risk-manager.exe"))
    lines = winsw.icacls_lines(spec)
    folders = [line.split('"')[1] for line in lines]
    assert folders == [
        r"C:\ProgramData\risk-manager",
        r"C:\ProgramData\risk-manager\config",
        r"C:\ProgramData\risk-manager\data",
        r"C:\ProgramData\risk-manager\logs",
    ]
    for line in lines:
        assert line.startswith("icacls ")
        assert "/inheritance:r" in line  # nothing inherited from ProgramData (Users: read)
        grants = line.split("/grant:r ", 1)[1].split()
        sids = {grant.split(":")[0] for grant in grants}
        assert sids == {winsw.ADMINISTRATORS, winsw.SYSTEM, winsw.LOCAL_SERVICE}
        service = next(g for g in grants if g.startswith(winsw.LOCAL_SERVICE))
        writable = line.split('"')[1].endswith(("data", "logs"))
        assert service.endswith(":(OI)(CI)M") == writable  # the service writes only there
