"""``risk-manager admin``: the first-use password, config edits with the daemon stopped and
running (through its admin API), refusals with exit 2, test-connection against the simulator,
and the numbered menu driven on a pseudo-terminal (docs/ADMIN.md)."""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pexpect
import pytest
from typer.testing import CliRunner, Result

from admin.support import API_KEY, CONFIG, NOW, PASSWORD, FakeControl, write_config
from risk_manager.admin.config_edit import ConfigFile
from risk_manager.admin.connection_check import check_connection
from risk_manager.admin.password import PasswordFile
from risk_manager.api.admin import AdminSurface
from risk_manager.api.demo_server import demo_model
from risk_manager.api.server import RunningApi, running_api
from risk_manager.cli.main import app
from risk_manager.config.sections import BrokerConfig
from risk_manager.runtime.metrics import Metrics
from risk_manager.sim.server import DEFAULT_API_KEY, DEFAULT_USERNAME, SimSettings, running_sim
from risk_manager.store.holder import hold_store
from risk_manager.store.store import Store

ENV = {"RISK_MANAGER_KEK": "", "COLUMNS": "160"}


def admin(config: Path, *args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(app, ["admin", "-c", str(config), *args], input=input, env=ENV)


def audit_actions(folder: Path) -> list[str]:
    with Store.open(folder / "risk-manager.sqlite") as store:
        return [entry.action for entry in store.audit_log()]


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = write_config(tmp_path)
    PasswordFile(tmp_path / "admin.pwd").set(PASSWORD)
    return path


def test_the_first_admin_command_sets_the_password_asked_twice(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    mismatch = admin(path, "rules", "show", input="first-pass\nsecond-pass\n")
    assert mismatch.exit_code != 0
    assert not (tmp_path / "admin.pwd").exists()
    result = admin(path, "rules", "show", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert "daily_net_loss" in result.output
    pwd = tmp_path / "admin.pwd"
    assert stat.S_IMODE(pwd.stat().st_mode) == 0o600
    assert PASSWORD not in pwd.read_text(encoding="ascii")
    assert PasswordFile(pwd).verify(PASSWORD)
    assert audit_actions(tmp_path) == ["admin.password_set"]


def test_rules_set_with_the_daemon_stopped_edits_and_audits(config: Path) -> None:
    result = admin(config, "rules", "set", "daily_net_loss", "limit", "800", "-r", "calmer")
    assert result.exit_code == 0, result.output
    assert config.read_text(encoding="utf-8") == CONFIG.replace("limit: 1000 ", "limit: 800  ")
    assert audit_actions(config.parent) == ["rules.set"]


def test_a_bad_rules_set_exits_2_with_the_reason_and_the_file_unchanged(config: Path) -> None:
    before = config.read_bytes()
    result = admin(config, "rules", "set", "daily_net_loss", "limit", "--", "-100")
    assert result.exit_code == 2
    assert "rules.daily_net_loss.limit" in result.output
    assert "Traceback" not in result.output
    result = admin(config, "rules", "set", "nope", "limit", "1")
    assert (result.exit_code, "unknown rule 'nope'" in result.output) == (2, True)
    assert config.read_bytes() == before
    assert not (config.parent / "risk-manager.sqlite").exists()  # nothing audited: no act


def test_a_wrong_old_password_is_refused(config: Path) -> None:
    result = admin(config, "password", input="not it\n")
    assert (result.exit_code, "wrong password" in result.output) == (2, True)
    result = admin(config, "password", input=f"{PASSWORD}\nnew-password-1\nnew-password-1\n")
    assert result.exit_code == 0, result.output
    assert PasswordFile(config.parent / "admin.pwd").verify("new-password-1")
    assert audit_actions(config.parent) == ["admin.password_changed", "admin.password_refused"]


def test_acts_that_need_the_daemon_say_so_when_it_is_stopped(config: Path) -> None:
    with_api = config.read_text(encoding="utf-8") + "api: {port: 1}\n"  # nothing listens on 1
    config.write_text(with_api, encoding="utf-8")
    result = admin(config, "locks", "clear", "1001", "--reason", "calm")
    assert result.exit_code == 1
    assert "needs the running daemon" in result.output
    result = admin(config, "reset", "1001")
    assert (result.exit_code, "--reason is required" in result.output) == (2, True)


def test_credentials_set_never_prints_the_key(config: Path) -> None:
    result = admin(config, "credentials", "set", input=f"{API_KEY}\n{API_KEY}\n")
    assert result.exit_code == 0, result.output
    assert API_KEY not in result.output
    assert "set (encrypted)" in result.output
    shown = CliRunner().invoke(app, ["config", "show", str(config)], env=ENV)
    assert shown.exit_code == 0, shown.output
    assert API_KEY not in shown.output and "api_key_encrypted: '********'" in shown.output
    assert API_KEY.encode() not in (config.parent / "risk-manager.sqlite").read_bytes()


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


@pytest.fixture
async def daemon_api(config: Path) -> AsyncIterator[tuple[RunningApi, FakeControl]]:
    control = FakeControl()
    with Store.open(config.parent / "risk-manager.sqlite") as store:
        surface = AdminSurface(
            password=PasswordFile(config.parent / "admin.pwd"),
            config=ConfigFile(config),
            audit=store,
            read_model=demo_model(NOW),
            control=control,
        )
        async with running_api(demo_model(NOW), Metrics(), port=0, admin=surface) as api:
            _append(config, f"api:\n  port: {api.port}\n")
            yield api, control


async def test_with_the_daemon_running_acts_go_through_its_admin_api(
    config: Path, daemon_api: tuple[RunningApi, FakeControl]
) -> None:
    _, control = daemon_api
    result = await asyncio.to_thread(
        admin, config, "locks", "clear", "1001", "7", "--reason", "calm", input=f"{PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output
    assert "cleared" in result.output
    result = await asyncio.to_thread(
        admin, config, "rules", "set", "max_contracts", "limit", "4", input=f"{PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output
    assert "limit: 4" in _text(config)
    assert [call[0] for call in control.calls] == ["clear_lock", "reload"]
    assert control.calls[0][1] == (1001, 7, "admin@127.0.0.1", "calm")
    result = await asyncio.to_thread(admin, config, "reset", "1001", "-r", "x", input="wrong\n")
    assert (result.exit_code, "wrong password" in result.output) == (2, True)
    result = await asyncio.to_thread(admin, config, "audit", input=f"{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    for action in ("lock.clear", "rules.set", "admin.login_failed"):
        assert action in result.output


async def test_test_connection_passes_against_the_simulator_and_names_a_failure() -> None:
    async with running_sim(SimSettings(port=0)) as sim:
        broker = BrokerConfig(
            api_url=sim.url,
            user_hub_url=f"{sim.url}/hubs/user",
            market_hub_url=f"{sim.url}/hubs/market",
            username=DEFAULT_USERNAME,
            api_key=DEFAULT_API_KEY,
        )
        steps = await check_connection(broker, hub_timeout=5.0)
        assert [(s.name, s.ok) for s in steps] == [
            ("login", True),
            ("user hub", True),
            ("market hub", True),
            ("accounts", True),
            ("contract search", True),
        ], steps
        wrong = broker.model_copy(update={"api_key": broker.api_key and type(broker.api_key)("x")})
        steps = await check_connection(wrong, hub_timeout=5.0)
        assert not steps[0].ok and "AuthenticationFailed" in steps[0].reason
        assert [s.reason for s in steps[1:]] == ["skipped: no login"] * 4


def test_the_menu_reaches_the_commands_on_a_terminal(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    child = _spawn(path)
    try:
        child.expect("New admin password")
        child.sendline(PASSWORD)
        child.expect("Repeat for confirmation")
        child.sendline(PASSWORD)
        child.expect("admin password set")
        child.expect("rules set")
        child.expect("Choose")
        child.sendline("8")  # rules set
        child.expect("Rule")
        child.sendline("max_contracts")
        child.expect("Setting")
        child.sendline("limit")
        child.expect("Value")
        child.sendline("-1")  # refused: the menu says why and comes back
        child.expect("Account id")
        child.sendline("")
        child.expect("Reason")
        child.sendline("")
        child.expect("rules.max_contracts.limit")
        child.expect("Choose")
        child.sendline("8")
        child.expect("Rule")
        child.sendline("max_contracts")
        child.expect("Setting")
        child.sendline("limit")
        child.expect("Value")
        child.sendline("2")
        child.expect("Account id")
        child.sendline("")
        child.expect("Reason")
        child.sendline("smaller size today")
        child.expect("5 → 2")
        child.expect("Choose")
        child.sendline("14")  # audit
        child.expect("smaller size today")
        child.expect("Choose")
        child.sendline("q")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
    assert "    limit: 2\n" in path.read_text(encoding="utf-8")


def _spawn(config: Path, *args: str) -> pexpect.spawn[str]:
    command = Path(sys.executable).parent / "risk-manager"
    env = {**os.environ, **ENV, "TERM": "xterm", "NO_COLOR": "1"}
    return pexpect.spawn(
        str(command),
        ["admin", "-c", str(config), *args],
        env=env,
        encoding="utf-8",
        timeout=30,
        dimensions=(50, 200),
    )


def test_a_daemon_holding_the_store_with_a_silent_api_refuses_file_edits(config: Path) -> None:
    config.write_text(config.read_text(encoding="utf-8") + "api: {port: 1}\n", encoding="utf-8")
    before = config.read_bytes()
    with hold_store(config.parent / "risk-manager.sqlite"):  # as `run` holds it
        child = _spawn(config, "rules", "set", "max_contracts", "limit", "3")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 1
        assert "the file was not changed" in str(child.before)
        # The password is the admin's own file: changed, and audited beside the daemon.
        child = _spawn(config, "password")
        child.expect("Current admin password")
        child.sendline(PASSWORD)
        child.expect("New admin password")
        child.sendline("new-password-2")
        child.expect("Repeat for confirmation")
        child.sendline("new-password-2")
        child.expect(pexpect.EOF)
        child.close()
        assert child.exitstatus == 0
    assert PasswordFile(config.parent / "admin.pwd").verify("new-password-2")
    assert audit_actions(config.parent) == ["admin.password_changed"]
    assert config.read_bytes() == before


def test_logs_prints_the_end_of_the_daemons_log_file(config: Path) -> None:
    result = admin(config, "logs")
    assert (result.exit_code, "logging.file" in result.output) == (2, True)
    config.write_text(_text(config) + "logging: {file: logs/daemon.log}\n", encoding="utf-8")
    log = config.parent / "logs" / "daemon.log"
    log.parent.mkdir()
    log.write_text("".join(f"line {n}\n" for n in range(1, 6)), encoding="utf-8")
    result = admin(config, "logs", "-n", "2")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["line 4", "line 5"]
