"""`risk-manager service install`: the config is checked as installed, `--dry-run` prints
every file and command for any platform, a real install without root is refused with the
sudo line (exit 2), and applying a plan leaves the folders 0700 and the files 0600."""

from __future__ import annotations

import dataclasses
import getpass
import os
import stat
import sys
from pathlib import Path, PurePosixPath

import pytest
import yaml
from typer.testing import CliRunner

from risk_manager.cli import service as service_cli
from risk_manager.cli.main import app
from risk_manager.service.plan import install_plan
from risk_manager.service.spec import default_spec

runner = CliRunner()
EXE = "/opt/risk-manager/bin/risk-manager"


def config_file(tmp_path: Path, store: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "broker": {"username": "${PROJECTX_USERNAME}", "api_key": "${PROJECTX_API_KEY}"},
                "store": {"path": store},
            }
        )
    )
    return path


def install(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["service", "install", *args])
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.parametrize("platform", ["linux", "darwin", "win32"])
def test_dry_run_prints_the_files_and_commands_and_changes_nothing(
    tmp_path: Path, platform: str
) -> None:
    spec = default_spec(platform, PurePosixPath(EXE))  # type: ignore[arg-type]
    config = config_file(tmp_path, str(spec.data_dir / "risk-manager.sqlite"))
    code, out, err = install(
        "--config", str(config), "--dry-run", "--platform", platform, "--executable", EXE
    )
    assert code == 0, err
    assert f"# file {spec.config} " in out
    assert "store:" in out  # the config's own text, to be installed
    if platform == "linux":
        assert "# file /etc/systemd/system/risk-manager.service (owner root mode 0644)" in out
        assert "Type=notify" in out
        assert "# folder /var/lib/risk-manager (owner risk-manager mode 0700)" in out
        assert "mode 0600, kept if it exists" in out
        assert "$ systemctl enable risk-manager.service" in out
    elif platform == "darwin":
        assert "<key>KeepAlive</key>" in out
        assert "$ launchctl bootstrap system /Library/LaunchDaemons/local.risk-manager.plist" in out
    else:
        assert '<onfailure action="restart"' in out
        assert out.count("$ cmd /c icacls ") == 4
        assert "risk-manager-service.exe install" in out


def test_a_store_outside_the_data_folder_is_refused(tmp_path: Path) -> None:
    # Relative: read from the installed config's folder, /etc/risk-manager (read-only there).
    config = config_file(tmp_path, "risk-manager.sqlite")
    code, _, err = install(
        "--config", str(config), "--dry-run", "--platform", "linux", "--executable", EXE
    )
    assert code == 2
    assert "outside /var/lib/risk-manager" in err
    assert "store: {path: /var/lib/risk-manager/risk-manager.sqlite}" in err


def test_a_bad_config_is_refused_with_its_problems(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("rules:\n  no_such_rule: {}\n")
    code, _, err = install("--config", str(config), "--dry-run", "--platform", "linux")
    assert code == 2
    assert "no_such_rule" in err


def test_an_executable_under_a_home_folder_is_refused(tmp_path: Path) -> None:
    config = config_file(tmp_path, "/var/lib/risk-manager/risk-manager.sqlite")
    code, _, err = install(
        "--config", str(config), "--dry-run", "--platform", "linux",
        "--executable", "/home/trader/rm/.venv/bin/risk-manager",
    )  # fmt: skip
    assert code == 2
    assert "ProtectHome" in err


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX uid")
def test_install_without_root_says_to_use_sudo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    config = config_file(tmp_path, "/var/lib/risk-manager/risk-manager.sqlite")
    code, out, err = install("--config", str(config), "--platform", "linux", "--executable", EXE)
    assert code == 2
    assert "needs root: run it with sudo" in err
    assert "Traceback" not in out + err


def test_another_platform_needs_dry_run(tmp_path: Path) -> None:
    config = config_file(tmp_path, "/var/lib/risk-manager/risk-manager.sqlite")
    other = "darwin" if sys.platform != "darwin" else "linux"
    code, _, err = install("--config", str(config), "--platform", other)
    assert code == 2
    assert "only with --dry-run" in err


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")
def test_applying_a_plan_leaves_folders_0700_files_0600_and_keeps_the_config(
    tmp_path: Path,
) -> None:
    me = getpass.getuser()
    spec = dataclasses.replace(
        default_spec("linux", PurePosixPath(EXE)),
        config_dir=PurePosixPath(tmp_path / "etc"),
        data_dir=PurePosixPath(tmp_path / "lib"),
        log_dir=PurePosixPath(tmp_path / "log"),
        user=me,
    )
    plan = install_plan(spec, "store: {}\n", "PROJECTX_USERNAME=u\n")
    plan = dataclasses.replace(
        plan,
        files=[dataclasses.replace(f, owner=me) for f in plan.files if f.replace is False],
        commands=[],
    )
    service_cli._apply(plan)
    for folder in ("etc", "lib", "log"):
        assert stat.S_IMODE((tmp_path / folder).stat().st_mode) == 0o700
    for file in ("config.yaml", "credentials.env"):
        assert stat.S_IMODE((tmp_path / "etc" / file).stat().st_mode) == 0o600
    (tmp_path / "etc" / "config.yaml").write_text("edited by the operator\n")
    service_cli._apply(plan)  # a re-install keeps the operator's config and credentials
    assert (tmp_path / "etc" / "config.yaml").read_text() == "edited by the operator\n"


def test_dry_run_never_prints_the_api_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROJECTX_USERNAME", "trader")
    monkeypatch.setenv("PROJECTX_API_KEY", "s3cret-key-value")
    config = config_file(tmp_path, "/var/lib/risk-manager/risk-manager.sqlite")
    code, out, err = install(
        "--config", str(config), "--dry-run", "--platform", "linux", "--executable", EXE
    )
    assert code == 0, err
    assert "s3cret-key-value" not in out + err
    assert "PROJECTX_API_KEY=********" in out
    assert "PROJECTX_USERNAME=trader" in out
