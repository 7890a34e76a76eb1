from pathlib import Path

import pytest

from risk_manager.config.errors import ConfigError
from risk_manager.config.loader import load_config, parse_config
from risk_manager.domain.errors import RefuseToStart


def problems(text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, "test.yaml", env=env or {})
    return info.value.problems


def test_an_empty_file_is_all_defaults() -> None:
    config = parse_config("", env={})
    assert config.broker.api_url == "https://api.topstepx.com"
    assert config.rules.enabled_rules() == []


def test_unknown_keys_are_refused_with_their_path() -> None:
    assert problems("rules:\n  daily_realized_loss:\n    limt: 500\n") == [
        "rules.daily_realized_loss.limt: unknown key (check its spelling and the section it is in)"
    ]
    assert problems("brokr: {}\n") == [
        "brokr: unknown key (check its spelling and the section it is in)"
    ]


def test_every_bad_value_is_reported_at_once_with_its_path() -> None:
    text = """
rules:
  daily_realized_loss: {enabled: true, limit: 0}
  max_contracts: {enabled: true, limit: 5, count: sideways}
  no_stop_loss_grace: {grace: 30}
accounts:
  list:
    - {id: abc}
    - {id: 7, name: ok}
trading_day: {timezone: Moon/Base, daily_reset: "25:00"}
api: {port: 70000}
logging: {level: loud}
"""
    found = problems(text)
    paths = [problem.split(": ", 1)[0] for problem in found]
    assert sorted(paths) == sorted(
        [
            "rules.daily_realized_loss.limit",
            "rules.max_contracts.count",
            "rules.no_stop_loss_grace.grace",
            "accounts.list[0].id",
            "trading_day.timezone",
            "trading_day.daily_reset",
            "api.port",
            "logging.level",
        ]
    )
    assert "rules.daily_realized_loss.limit: must be > 0" in found
    assert "api.port: must be <= 65535" in found


def test_config_error_is_a_refuse_to_start_listing_every_problem() -> None:
    with pytest.raises(RefuseToStart) as info:
        parse_config("rules: {mark: mid, max_retries: -1}", "x.yaml", env={})
    message = str(info.value)
    assert message.startswith("x.yaml: 2 problems")
    assert "rules.mark: must be one of 'last' or 'bid_ask'" in message
    assert "rules.max_retries: -1 is outside the allowed 0 to 20" in message


def test_environment_variables_are_substituted_before_validation() -> None:
    text = """
broker:
  username: ${PX_USER}
  api_key: key-${PX_KEY}
  api_url: ${PX_URL:-https://gateway.example.com}
rules:
  daily_net_loss: {enabled: true, limit: "${LOSS_LIMIT}"}
store:
  path: "$${HOME}/rm.sqlite"
"""
    config = parse_config(text, env={"PX_USER": "trader", "PX_KEY": "abc", "LOSS_LIMIT": "750.5"})
    assert config.broker.username == "trader"
    assert config.broker.api_key is not None
    assert config.broker.api_key.get_secret_value() == "key-abc"
    assert config.broker.api_url == "https://gateway.example.com"
    assert str(config.rules.daily_net_loss.limit) == "750.5"
    assert str(config.store.path) == "${HOME}/rm.sqlite"


def test_a_missing_variable_is_named_with_where_it_is_used() -> None:
    found = problems(
        "broker:\n  api_key: ${PX_KEY}\nrules:\n  daily_net_loss: {enabled: true, "
        "limit: '${LIMIT}'}\naccounts:\n  list: [{id: 1, name: '${DESK}'}]\n",
        env={"PX_KEY": "set"},
    )
    assert found == [
        "rules.daily_net_loss.limit: environment variable LIMIT is not set "
        "(used as ${LIMIT}; set it or write ${LIMIT:-default})",
        "accounts.list[0].name: environment variable DESK is not set "
        "(used as ${DESK}; set it or write ${DESK:-default})",
    ]


def test_variable_content_is_never_parsed_as_yaml() -> None:
    config = parse_config("accounts:\n  list: [{id: 1, name: '${NAME}'}]\n", env={"NAME": "a: [b"})
    assert config.accounts.list[0].name == "a: [b"


def test_yaml_syntax_errors_name_line_and_column_but_not_the_line() -> None:
    found = problems("broker:\n  api_key: hunter2: oops\n")
    assert found == ["line 2, column 19: YAML syntax error: mapping values are not allowed here"]
    assert "hunter2" not in " ".join(found)


def test_duplicate_keys_are_refused_not_silently_overwritten() -> None:
    found = problems("rules:\n  mark: last\n  mark: bid_ask\n")
    assert found == ["line 3, column 3: YAML syntax error: duplicate key 'mark'"]


def test_unquoted_clock_times_stay_times() -> None:
    # Plain YAML 1.1 would read 16:30 as the base-60 integer 990.
    config = parse_config(
        "trading_day:\n  daily_reset: 16:30\n  weekly_reset: {day: SUN, time: 18:00}\n", env={}
    )
    assert config.trading_day.daily_reset.strftime("%H:%M") == "16:30"
    assert config.trading_day.weekly_reset.time.strftime("%H:%M") == "18:00"


def test_the_top_level_must_be_a_mapping() -> None:
    assert problems("- rules\n") == [
        "(top level): must be a mapping of sections (broker:, rules:, …)"
    ]


def test_a_replay_file_with_only_day_rules_and_contracts_validates() -> None:
    text = """
trading_day: {timezone: America/Chicago, daily_reset: "17:00"}
rules:
  daily_realized_loss: {enabled: true, limit: 500}
contracts:
  - {symbol: MNQ, commissions: 0.37}
"""
    config = parse_config(text, env={})
    assert config.broker.username is None
    assert config.catalog().by_symbol("MNQ").commissions.as_tuple() == (0, (3, 7), -2)


def test_load_config_reads_a_file_and_names_a_missing_one(tmp_path: Path) -> None:
    path = tmp_path / "rm.yaml"
    path.write_text("rules: {mark: bid_ask}\n", encoding="utf-8")
    assert load_config(path, env={}).rules.mark == "bid_ask"
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "nope.yaml")
    assert info.value.problems == [f"{tmp_path / 'nope.yaml'}: no such file"]


def test_sections_reads_only_those_and_ignores_the_rest() -> None:
    text = "rules:\n  mark: bid_ask\nbroker:\n  username: ${UNSET_FOR_SECTIONS}\n  bogus: 1\n"
    with pytest.raises(ConfigError):
        parse_config(text, env={})
    config = parse_config(text, env={}, sections=("rules",))
    assert config.rules.mark == "bid_ask" and config.broker.username is None


def test_a_relative_store_path_is_read_from_the_config_files_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "guard"
    folder.mkdir()
    (folder / "config.yaml").write_text("store:\n  path: data/rm.sqlite\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    config = load_config(Path("../guard/config.yaml"), env={})
    assert config.store.path.resolve() == (folder / "data" / "rm.sqlite").resolve()
    (folder / "abs.yaml").write_text(f"store:\n  path: {tmp_path / 'x.sqlite'}\n")
    assert load_config(folder / "abs.yaml", env={}).store.path == tmp_path / "x.sqlite"
