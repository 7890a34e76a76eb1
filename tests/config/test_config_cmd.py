from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from risk_manager.cli.main import app
from risk_manager.config.loader import parse_config

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "config.yaml"
SECRET = "px-secret-4f9a8b7c"
ENV = {"PROJECTX_USERNAME": "trader@example.com", "PROJECTX_API_KEY": SECRET}


@pytest.fixture
def runner(monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.delenv("RISK_MANAGER_WEBHOOK_URL", raising=False)
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    return CliRunner()


def test_config_check_passes_on_the_example_with_a_summary(runner: CliRunner) -> None:
    result = runner.invoke(app, ["config", "check", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"{EXAMPLE}: ok" in out
    assert "https://api.topstepx.com as trader@example.com (api key set)" in out
    assert "every account the login can see" in out
    assert "resets 17:00 America/Chicago; week resets sun 17:00" in out
    assert "risk-manager.sqlite" in out
    assert "RULE-015 daily_net_loss" in out and "limit=1000" in out
    assert "RULE-016 trailing_drawdown" in out and "max_drawdown=2000" in out
    assert "RULE-001 max_contracts" in out and "limit=5" in out
    assert "RULE-003" not in out  # disabled rules are not listed
    assert SECRET not in result.output
    assert len(out.splitlines()) <= 25  # one screen


def test_the_example_sets_every_key_of_every_section() -> None:
    import yaml

    raw = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    config = parse_config(EXAMPLE.read_text(encoding="utf-8"), env=ENV)
    effective = config.masked_dict()

    def keys(data: object, prefix: str = "") -> set[str]:
        if not isinstance(data, dict):
            return set()
        found = set()
        for key, value in data.items():
            path = f"{prefix}{key}"
            found.add(path)
            if key not in ("limits", "list", "contracts"):  # free-form or example lists
                found |= keys(value, path + ".")
        return found

    assert keys(effective) - keys(raw) == set()
    names = {rule.key for rule in config.rules.all_rules()}
    assert names <= set(raw["rules"])


def test_config_check_names_every_bad_key_path_and_exits_2(
    runner: CliRunner, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "broker: {api_key: '${PROJECTX_API_KEY}', api_url: ftp://nope}\n"
        "rules:\n"
        "  daily_net_loss: {enabled: true, limit: -100}\n"
        "  max_contracts: {enabled: true}\n"
        "  trailing_drawdown: {enabled: true, max_drawdown: 2000, mode: weekly}\n"
        "  symbol_blocks: {blocked: [CL*], close: true}\n"
        "accounts:\n"
        "  list: [{id: 0}]\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["config", "check", str(bad)])
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    paths = [line.removeprefix(f"{bad}: ").split(": ", 1)[0] for line in lines]
    assert sorted(paths) == sorted(
        [
            "broker.api_url",
            "rules.daily_net_loss.limit",
            "rules.max_contracts.limit",
            "rules.trailing_drawdown.mode",
            "rules.symbol_blocks.close",
            "accounts.list[0].id",
        ]
    )
    assert SECRET not in result.output


def test_config_check_refuses_a_missing_file(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["config", "check", str(tmp_path / "none.yaml")])
    assert result.exit_code == 2
    assert "no such file" in result.stderr


def test_config_show_prints_the_effective_config_with_secrets_masked(runner: CliRunner) -> None:
    result = runner.invoke(app, ["config", "show", str(EXAMPLE)])
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output
    assert "api_key: '********'" in result.stdout
    assert "stale_mark: 10s" in result.stdout
    assert "max_drawdown: 2000\n" in result.stdout
    assert "micro_weight: 0.1\n" in result.stdout
    # What it prints loads back into the same config (the secret aside).
    shown = parse_config(result.stdout, env={})
    original = parse_config(EXAMPLE.read_text(encoding="utf-8"), env=ENV)
    assert shown.rules == original.rules
    assert shown.trading_day == original.trading_day
    assert shown.broker.username == original.broker.username


def test_config_show_fills_defaults_for_a_tiny_file(runner: CliRunner, tmp_path: Path) -> None:
    tiny = tmp_path / "tiny.yaml"
    tiny.write_text("rules: {daily_realized_loss: {enabled: true, limit: 500}}\n", "utf-8")
    result = runner.invoke(app, ["config", "show", str(tiny)])
    assert result.exit_code == 0, result.output
    assert "  daily_realized_loss:\n    enabled: true\n    warn_at: null\n    limit: 500\n" in (
        result.stdout
    )
    assert "user_hub_url: https://rtc.topstepx.com/hubs/user" in result.stdout
    assert "api_key: null" in result.stdout


def test_config_check_lists_listed_accounts_and_their_overrides(
    runner: CliRunner, tmp_path: Path
) -> None:
    path = tmp_path / "accounts.yaml"
    path.write_text(
        "rules: {daily_net_loss: {enabled: true, limit: 1000}}\n"
        "accounts:\n"
        "  mode: listed\n"
        "  list:\n"
        "    - {id: 11, name: combine, rules: {daily_net_loss: {limit: 600}}}\n"
        "    - {id: 12}\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["config", "check", str(path)])
    assert result.exit_code == 0, result.output
    assert "accounts:    only 11 (combine), 12" in result.stdout
    assert "account 11 (combine): RULE-015 daily_net_loss" in result.stdout
    assert "limit=600" in result.stdout


SHARED = """
accounts: {mode: %s, list: %s}
rules:
  trailing_drawdown: {enabled: true, max_drawdown: 2000, starting_balance: 50000}
"""


def _check(runner: CliRunner, tmp_path: Path, text: str) -> Any:
    path = tmp_path / "c.yaml"
    path.write_text(text, encoding="utf-8")
    return runner.invoke(app, ["config", "check", str(path)])


@pytest.mark.parametrize(
    ("mode", "entries"),
    [("all", "[]"), ("listed", "[{id: 1}, {id: 2}]")],
)
def test_a_global_starting_balance_shared_by_accounts_is_refused(
    runner: CliRunner, tmp_path: Path, mode: str, entries: str
) -> None:
    result = _check(runner, tmp_path, SHARED % (mode, entries))
    assert result.exit_code == 2, result.output
    assert "rules.trailing_drawdown.starting_balance: 50000 would" in result.output
    assert "accounts.list[].rules.trailing_drawdown.starting_balance" in result.output


def test_per_account_starting_balances_are_shown(runner: CliRunner, tmp_path: Path) -> None:
    result = _check(
        runner,
        tmp_path,
        """
accounts:
  mode: all
  list:
    - {id: 1, name: 50K, rules: {trailing_drawdown: {starting_balance: 50000}}}
    - {id: 2, name: 150K, rules: {trailing_drawdown: {starting_balance: 150000}}}
rules:
  trailing_drawdown: {enabled: true, max_drawdown: 2000}
""",
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "  account 1 (50K): 50000" in lines and "  account 2 (150K): 150000" in lines
    assert "  every other account: its own balance first seen (stored)" in lines


def test_config_check_warns_when_the_api_is_bound_off_loopback(
    runner: CliRunner, tmp_path: Path
) -> None:
    exposed = tmp_path / "exposed.yaml"
    exposed.write_text("api:\n  host: 0.0.0.0\n  port: 9000\n")
    result = runner.invoke(app, ["config", "check", str(exposed)])
    assert result.exit_code == 0, result.output
    assert "warning: api.host 0.0.0.0 is not a loopback address" in result.stderr
    assert "port 9000" in result.stderr
    local = tmp_path / "local.yaml"
    local.write_text("api:\n  host: 127.0.0.1\n")
    assert "warning" not in runner.invoke(app, ["config", "check", str(local)]).stderr
