"""Logging set-up (docs/LOGGING.md): one line per record, JSON or text (``logging.format``),
on stderr and, when configured, in a daemon log file and a separate enforcement log, each
rotated by size and by age; levels from config, per logger too.

Every handler passes each record through the one :class:`RedactFilter` (the process's
:data:`~risk_manager.redact.REDACTOR`): the message, its arguments, an exception's traceback
and a stack are formatted and masked before any handler writes them, so a secret that reaches
a log call anyway (an API key in an exception, a token in a header dump) is never written.

The enforcement log takes the records of two loggers: ``risk_manager.enforcement`` (every lock
made, every action sent to the broker and its outcome, every refusal) and
``risk_manager.alerts`` (every alert). They also reach the daemon log.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from logging.handlers import RotatingFileHandler
from pathlib import Path

from pydantic import SecretStr

from risk_manager.config.models import Config
from risk_manager.config.sections import LoggingConfig
from risk_manager.redact import REDACTOR, Redactor

ENFORCEMENT = "risk_manager.enforcement"
"""The logger of locks, enforcement actions, outcomes and refusals."""
ALERTS = "risk_manager.alerts"
"""The logger of alerts (runtime/alerts/)."""
ENFORCEMENT_LOGGERS = (ENFORCEMENT, ALERTS)
TEXT_FORMAT = "%(asctime)s %(levelname)-8s %(name)s: %(message)s"
_OURS = "_risk_manager_handler"  # marks the handlers setup_logging added (replaced on re-run)


class RedactFilter(logging.Filter):
    """Formats a record's message (its args merged in), traceback and stack once, masking
    secrets with ``redactor``; the record then carries only the masked text. Attached to every
    handler: a record that reaches several handlers is masked once."""

    def __init__(self, redactor: Redactor = REDACTOR) -> None:
        super().__init__()
        self._redact = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_redacted", False):
            return True
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not hide the line (nor raise in a handler)
            message = f"{record.msg!r} (arguments did not format: {record.args!r})"
        record.msg = self._redact(message)
        record.args = None
        if record.exc_info:
            record.exc_text = _TRACEBACKS.formatException(record.exc_info)
            record.exc_info = None  # formatters print exc_text instead
        if record.exc_text:
            record.exc_text = self._redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self._redact(record.stack_info)
        record._redacted = True
        return True


_TRACEBACKS = logging.Formatter()


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ``at`` (UTC ISO 8601), ``level``, ``logger``, ``message`` and,
    with an exception, ``error`` (its traceback)."""

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info and not record.exc_text:  # a record that skipped RedactFilter
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            out["error"] = record.exc_text
        if record.stack_info:
            out["stack"] = record.stack_info
        return json.dumps(out, ensure_ascii=False)


class RotatingLog(RotatingFileHandler):
    """A log file rotated when the next line would take it past ``max_bytes`` or once it is
    ``max_age`` seconds old, keeping ``keep`` rotated files (``name.1`` the newest). A file
    carried over from an earlier run counts its age from its last write, as the stdlib's
    timed handler does. ``now`` gives epoch seconds (tests)."""

    def __init__(
        self,
        path: Path,
        *,
        max_bytes: int,
        max_age: float,
        keep: int,
        now: Callable[[], float] = time.time,
    ) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        super().__init__(path, maxBytes=max_bytes, backupCount=keep, encoding="utf-8", delay=False)
        self._max_age = max_age
        self._now = now
        try:
            started = os.stat(path).st_mtime if os.path.getsize(path) else now()
        except OSError:
            started = now()
        self._rotate_at = started + max_age

    def shouldRollover(self, record: logging.LogRecord) -> bool:
        if self._now() >= self._rotate_at:
            return True
        return bool(super().shouldRollover(record))

    def doRollover(self) -> None:
        super().doRollover()
        self._rotate_at = self._now() + self._max_age


def setup_logging(
    config: LoggingConfig,
    *,
    secrets: Iterable[str | None] = (),
    stream: bool = True,
    now: Callable[[], float] = time.time,
) -> list[logging.Handler]:
    """Configure the process's logging from ``config`` and return the handlers it added.

    ``secrets`` are values to mask wherever they appear (the API key, the webhook URL, the
    SMTP password); the gateway's tokens are added as they arrive. ``stream`` adds a stderr
    handler (the service manager's journal). Running it again replaces what it added before.
    The two enforcement loggers log at INFO at least, whatever ``level``: a lock or an action
    is never filtered out (``levels`` can still say otherwise, per logger)."""
    REDACTOR.add(*secrets)
    redact = RedactFilter(REDACTOR)
    formatter: logging.Formatter = (
        JsonFormatter() if config.format == "json" else logging.Formatter(TEXT_FORMAT)
    )
    rotation = {
        "max_bytes": config.max_bytes,
        "max_age": config.rotate_every.total_seconds(),
        "keep": config.keep,
        "now": now,
    }
    root_handlers: list[logging.Handler] = []
    if stream:
        root_handlers.append(logging.StreamHandler(sys.stderr))
    if config.file is not None:
        root_handlers.append(RotatingLog(config.file, **rotation))  # type: ignore[arg-type]
    enforcement: list[logging.Handler] = []
    if config.enforcement_file is not None:
        enforcement.append(RotatingLog(config.enforcement_file, **rotation))  # type: ignore[arg-type]
    for handler in (*root_handlers, *enforcement):
        handler.setFormatter(formatter)
        handler.addFilter(redact)
        setattr(handler, _OURS, True)

    root = logging.getLogger()
    _replace(root, root_handlers)
    root.setLevel(config.level)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    for name in ENFORCEMENT_LOGGERS:
        logger = logging.getLogger(name)
        _replace(logger, enforcement)
        logger.setLevel(min(logging.INFO, logging.getLevelNamesMapping()[config.level]))
    for name, level in config.levels.items():
        logging.getLogger(name).setLevel(level)
    return [*root_handlers, *enforcement]


def config_secrets(config: Config) -> list[str | None]:
    """The secret values a config holds, for :func:`setup_logging`'s ``secrets``."""
    email = config.alerts.email
    values: list[SecretStr | None] = [
        config.broker.api_key,
        config.alerts.webhook_url,
        None if email is None else email.password,
    ]
    return [None if value is None else value.get_secret_value() for value in values]


def _replace(logger: logging.Logger, handlers: list[logging.Handler]) -> None:
    """Swap the handlers an earlier set-up added to ``logger`` for ``handlers``; on the root,
    every handler goes (the process's logging is ours)."""
    for old in list(logger.handlers):
        if logger.name == "root" or getattr(old, _OURS, False):
            logger.removeHandler(old)
            if getattr(old, _OURS, False):
                old.close()
    for handler in handlers:
        logger.addHandler(handler)
