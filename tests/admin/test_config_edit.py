"""Admin edits of the config file: validated before writing, comments kept, atomic; the API
key sealed with AES-GCM and opened by the loader; the password file (docs/ADMIN.md)."""

from __future__ import annotations

import base64
import difflib
import os
import stat
from pathlib import Path

import pytest

from admin.support import API_KEY, CONFIG, PASSWORD, write_config
from risk_manager.admin.config_edit import ConfigFile, EditRefused, parse_value
from risk_manager.admin.password import PasswordFile, PasswordRefused
from risk_manager.config.credentials import KEK_ENV
from risk_manager.config.errors import ConfigError
from risk_manager.config.loader import load_config
from risk_manager.domain.errors import RefuseToStart

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "config.yaml"
NO_KEK = {KEK_ENV: ""}


def _changed_lines(before: str, after: str) -> list[str]:
    return [
        line
        for line in difflib.unified_diff(before.splitlines(), after.splitlines(), lineterm="")
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]


def test_a_rules_set_on_the_example_changes_one_line_and_keeps_every_comment(
    tmp_path: Path,
) -> None:
    path = tmp_path / "config.yaml"
    original = EXAMPLE.read_text(encoding="utf-8")
    path.write_text(original, encoding="utf-8")
    edit = ConfigFile(path, NO_KEK).set_rule("max_contracts", "limit", parse_value("3"))
    assert (edit.before, edit.after) == (5, 3)
    assert _changed_lines(original, path.read_text(encoding="utf-8")) == [
        "-    limit: 5",
        "+    limit: 3",
    ]


@pytest.mark.parametrize(
    ("rule", "key", "value", "reason"),
    [
        ("daily_net_loss", "limit", "-100", "rules.daily_net_loss.limit"),
        ("daily_net_loss", "limit", "lots", "rules.daily_net_loss.limit"),
        ("daily_net_loss", "limitt", "100", "rules.daily_net_loss.limitt"),
        ("trailing_drawdown", "enabled", "true", "max_drawdown: is required"),
        ("no_such_rule", "limit", "1", "unknown rule 'no_such_rule'"),
    ],
)
def test_a_refused_rules_set_leaves_the_file_byte_for_byte(
    tmp_path: Path, rule: str, key: str, value: str, reason: str
) -> None:
    path = write_config(tmp_path)
    before = path.read_bytes()
    with pytest.raises(EditRefused) as refused:
        ConfigFile(path, NO_KEK).set_rule(rule, key, parse_value(value))
    assert any(reason in line for line in refused.value.reasons), refused.value.reasons
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["config.yaml"]  # no temp file left


def test_an_account_override_is_written_under_its_entry(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    ConfigFile(path, NO_KEK).set_rule("max_contracts", "limit", 2, account_id=1001)
    assert load_config(path).rules_for(1001).max_contracts.limit == 2
    assert load_config(path).rules.max_contracts.limit == 5
    with pytest.raises(EditRefused, match="account 9 is not listed"):
        ConfigFile(path, NO_KEK).set_rule("max_contracts", "limit", 2, account_id=9)


def test_accounts_add_disable_remove(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    edits = ConfigFile(path, NO_KEK)
    edits.add_account(2002, "150K")
    edits.set_account_enabled(2002, False)
    config = load_config(path)
    assert [(e.id, e.enabled) for e in config.accounts.list] == [(1001, True), (2002, False)]
    assert not config.guards(2002) and config.guards(1001) and config.guards(3003)
    with pytest.raises(EditRefused, match="already listed"):
        edits.add_account(2002)
    edits.remove_account(2002)
    assert path.read_text(encoding="utf-8") == CONFIG


def test_credentials_set_seals_the_key_and_the_loader_opens_it(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    key_file = tmp_path / "admin.key"
    edit = ConfigFile(path, NO_KEK).set_credentials("desk", API_KEY, key_file)
    assert edit.after == {"username": "desk", "api_key": "set (encrypted)"}
    text = path.read_text(encoding="utf-8")
    assert API_KEY not in text and "api_key_encrypted: v1:" in text
    assert "# The desk's config: keep this comment." in text
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    config = load_config(path, env=NO_KEK)
    assert config.broker.api_key is not None
    assert config.broker.api_key.get_secret_value() == API_KEY
    assert API_KEY not in config.masked_yaml()
    assert "api_key_encrypted: '********'" in config.masked_yaml()


def test_the_kek_from_the_environment_wins_and_another_kek_is_refused(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    kek = base64.b64encode(os.urandom(32)).decode()
    ConfigFile(path, {KEK_ENV: kek}).set_credentials(None, API_KEY, tmp_path / "admin.key")
    assert not (tmp_path / "admin.key").exists()  # the environment's KEK: no file made
    key = load_config(path, env={KEK_ENV: kek}).broker.api_key
    assert key is not None and key.get_secret_value() == API_KEY
    other = base64.b64encode(os.urandom(32)).decode()
    with pytest.raises(ConfigError, match="cannot be decrypted"):
        load_config(path, env={KEK_ENV: other})
    with pytest.raises(ConfigError, match="no key-encryption key"):
        load_config(path, env=NO_KEK)
    with pytest.raises(ConfigError, match="must decode to 32 bytes"):
        load_config(path, env={KEK_ENV: base64.b64encode(b"short").decode()})


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    ConfigFile(path, NO_KEK).set_credentials(None, API_KEY, tmp_path / "admin.key")
    (tmp_path / "admin.key").chmod(0o644)
    with pytest.raises(ConfigError, match="readable by other users"):
        load_config(path, env=NO_KEK)


def test_the_password_file_holds_an_argon2id_hash_only_its_owner_reads(tmp_path: Path) -> None:
    password = PasswordFile(tmp_path / "admin.pwd")
    assert not password.is_set() and not password.verify(PASSWORD)
    with pytest.raises(PasswordRefused):
        password.set("short")
    password.set(PASSWORD)
    text = password.path.read_text(encoding="ascii")
    assert text.startswith("$argon2id$") and PASSWORD not in text
    assert stat.S_IMODE(password.path.stat().st_mode) == 0o600
    assert password.verify(PASSWORD) and not password.verify(PASSWORD + "x")
    password.path.chmod(0o640)
    with pytest.raises(RefuseToStart, match="readable by other users"):
        password.verify(PASSWORD)


def test_a_mapping_value_sets_per_symbol_limits(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    edits = ConfigFile(path, NO_KEK)
    edits.set_rule("max_contracts_per_instrument", "limits", parse_value("{ES: 3, NQ: 2}"))
    edits.set_rule("max_contracts_per_instrument", "enabled", parse_value("true"))
    limits = load_config(path).rules.max_contracts_per_instrument.limits
    assert {symbol: int(n) for symbol, n in limits.items()} == {"ES": 3, "NQ": 2}
    with pytest.raises(EditRefused, match="VALUE"):
        parse_value("[unclosed")
