"""Logging (docs/LOGGING.md): JSON lines that parse, rotation by size and by age, levels from
config, the separate enforcement log, and one redaction filter in front of every handler."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from risk_manager.cli.main import app
from risk_manager.config.sections import LoggingConfig
from risk_manager.projectx.token import TokenManager
from risk_manager.redact import MASK, REDACTOR
from risk_manager.runtime.logs import ALERTS, ENFORCEMENT, RotatingLog, setup_logging
from risk_manager.types import utc_now

API_KEY = "sk-live-9f8e7d6c5b4a3210"
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NSIsImV4cCI6MTcwMDAwMDAwMH0"
    ".c2lnbmF0dXJlLXNpZ25hdHVyZQ"
)


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Each test's set-up is undone: the root's handlers and levels as pytest left them."""
    root = logging.getLogger()
    saved = list(root.handlers), root.level
    names = (ENFORCEMENT, ALERTS, "risk_manager.projectx", "chatty")
    levels = {name: logging.getLogger(name).level for name in names}
    yield
    for logger in (root, *(logging.getLogger(n) for n in names)):
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
            handler.close()
    root.handlers[:], root.level = saved
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    REDACTOR.forget_all()


def _config(tmp_path: Path, **changes: object) -> LoggingConfig:
    data: dict[str, object] = {
        "file": tmp_path / "daemon.log",
        "enforcement_file": tmp_path / "enforcement.log",
    }
    return LoggingConfig.model_validate(data | changes)


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def test_json_lines_parse_with_level_logger_message_and_error(tmp_path: Path) -> None:
    setup_logging(_config(tmp_path), stream=False)
    log = logging.getLogger("risk_manager.test")
    log.info("guarding %d account(s)", 3)
    try:
        raise ValueError("boom")
    except ValueError:
        log.exception("it failed")
    first, second = (json.loads(line) for line in _lines(tmp_path / "daemon.log"))
    assert first["message"] == "guarding 3 account(s)"
    assert first["level"] == "info" and first["logger"] == "risk_manager.test"
    assert first["at"].endswith("+00:00")
    assert second["level"] == "error" and "ValueError: boom" in second["error"]


def test_text_format_is_one_line_per_record(tmp_path: Path) -> None:
    setup_logging(_config(tmp_path, format="text"), stream=False)
    logging.getLogger("risk_manager.test").warning("plain %s", "text")
    (line,) = _lines(tmp_path / "daemon.log")
    assert line.endswith("WARNING  risk_manager.test: plain text")


def test_the_file_rotates_by_size_keeping_the_configured_count(tmp_path: Path) -> None:
    setup_logging(_config(tmp_path, max_bytes=10_000, keep=2), stream=False)
    log = logging.getLogger("risk_manager.test")
    for n in range(400):  # ~40 kB of lines
        log.info("line %04d %s", n, "x" * 60)
    files = sorted(p.name for p in tmp_path.glob("daemon.log*"))
    assert files == ["daemon.log", "daemon.log.1", "daemon.log.2"]
    assert all((tmp_path / name).stat().st_size <= 10_000 for name in files)
    assert "line 0399" in (tmp_path / "daemon.log").read_text()


def test_the_file_rotates_by_age_even_when_small(tmp_path: Path) -> None:
    now = [1_000_000.0]
    handler = RotatingLog(
        tmp_path / "daemon.log", max_bytes=10**9, max_age=3600, keep=3, now=lambda: now[0]
    )
    log = logging.getLogger("chatty")
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.info("before")
    now[0] += 3599
    log.info("same hour")
    assert not (tmp_path / "daemon.log.1").exists()
    now[0] += 2
    log.info("an hour later")
    assert _lines(tmp_path / "daemon.log.1") == ["before", "same hour"]
    assert _lines(tmp_path / "daemon.log") == ["an hour later"]
    now[0] += 3601
    log.info("two hours later")
    assert _lines(tmp_path / "daemon.log.2") == ["before", "same hour"]


def test_levels_from_config_per_logger_too(tmp_path: Path) -> None:
    config = _config(tmp_path, level="warning", levels={"risk_manager.projectx": "debug"})
    setup_logging(config, stream=False)
    logging.getLogger("risk_manager.daemon").info("not shown")
    logging.getLogger("risk_manager.projectx.rest").debug("shown: per-logger DEBUG")
    logging.getLogger("risk_manager.daemon").warning("shown: a warning")
    messages = [json.loads(line)["message"] for line in _lines(tmp_path / "daemon.log")]
    assert messages == ["shown: per-logger DEBUG", "shown: a warning"]


def test_the_enforcement_log_takes_locks_actions_and_alerts_even_at_level_warning(
    tmp_path: Path,
) -> None:
    setup_logging(_config(tmp_path, level="WARNING"), stream=False)
    logging.getLogger(ENFORCEMENT).info("account 7 RULE-003 close_position X: confirmed")
    logging.getLogger(ALERTS).info("account 7 RULE-003: warned")
    logging.getLogger("risk_manager.daemon").warning("not an enforcement line")
    enforcement = [json.loads(line)["message"] for line in _lines(tmp_path / "enforcement.log")]
    assert enforcement == [
        "account 7 RULE-003 close_position X: confirmed",
        "account 7 RULE-003: warned",
    ]
    daemon = [json.loads(line)["message"] for line in _lines(tmp_path / "daemon.log")]
    assert daemon == [*enforcement, "not an enforcement line"]  # the daemon log has them too


def test_running_the_set_up_again_replaces_its_handlers(tmp_path: Path) -> None:
    setup_logging(_config(tmp_path), stream=False)
    setup_logging(_config(tmp_path), stream=False)
    logging.getLogger(ENFORCEMENT).warning("once")
    assert len(_lines(tmp_path / "enforcement.log")) == 1
    assert len(_lines(tmp_path / "daemon.log")) == 1


def test_a_secret_in_message_args_or_exception_reaches_no_handler(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    setup_logging(_config(tmp_path), secrets=[API_KEY, None, "short"])
    log = logging.getLogger(ENFORCEMENT)  # reaches stderr, the daemon log and the enforcement log
    log.warning("login with key " + API_KEY)  # in the message itself
    log.warning("login with %s and token %s", API_KEY, JWT)  # in the arguments
    log.warning("headers %s", {"Authorization": "Bearer abc.def-ghi_jkl", "Accept": "json"})
    log.warning('body {"userName": "me", "apiKey": "%s"}', "whatever-it-is-123")
    try:
        raise RuntimeError(f"gateway said no to {API_KEY} / {JWT}")
    except RuntimeError:
        log.exception("login failed")
    log.warning("stack", stack_info=True, extra={"note": API_KEY})
    outputs = {
        "stderr": capfd.readouterr().err,
        "daemon.log": (tmp_path / "daemon.log").read_text(),
        "enforcement.log": (tmp_path / "enforcement.log").read_text(),
    }
    for name, text in outputs.items():
        for secret in (API_KEY, JWT, "abc.def-ghi_jkl", "whatever-it-is-123"):
            assert secret not in text, (name, secret)
        assert text.count(MASK) >= 7, name
        assert "RuntimeError: gateway said no to" in text  # the traceback is kept, masked
        assert "short" not in text.replace("shortest", "")  # too short to be masked: never added


async def test_a_token_the_gateway_hands_out_is_masked_from_then_on(tmp_path: Path) -> None:
    async def login() -> str:
        return "opaque-session-token-0123456789"

    async def validate(token: str) -> str:
        return token

    setup_logging(_config(tmp_path), stream=False)
    token = await TokenManager(login, validate, utc_now).get()
    logging.getLogger("risk_manager.projectx").error("request with %s refused", token)
    text = (tmp_path / "daemon.log").read_text()
    assert token not in text and MASK in text


def test_rotate_every_is_bounded() -> None:
    with pytest.raises(ValueError, match="outside the allowed"):
        LoggingConfig.model_validate({"rotate_every": timedelta(days=90)})


def test_run_refuses_a_log_file_it_cannot_open_with_exit_2(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the log folder should be")
    config = tmp_path / "config.yaml"
    config.write_text(
        "broker: {username: me, api_key: key-123456}\n"
        f"store: {{path: {tmp_path / 'rm.sqlite'}}}\n"
        f"logging: {{file: {blocker / 'daemon.log'}}}\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(app, ["run", "--config", str(config)])
    assert result.exit_code == 2
    assert "logging: cannot open a log file" in result.output
    assert "key-123456" not in result.output
