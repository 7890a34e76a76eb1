"""Logging set-up: one line per record, JSON or text (config ``logging.format``).

Nothing here formats secrets: the client never puts tokens or keys into messages.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from logging.handlers import RotatingFileHandler
from pathlib import Path


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False)


LOG_FILE_BYTES = 10 * 1024 * 1024
LOG_FILES_KEPT = 5


def setup_logging(level: str = "INFO", fmt: str = "json", file: Path | None = None) -> None:
    """Log to standard error and, with ``file``, to that file too (rotated at
    ``LOG_FILE_BYTES``, ``LOG_FILES_KEPT`` old ones kept; ``admin logs`` tails it)."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if file is not None:
        file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(
            RotatingFileHandler(
                file, maxBytes=LOG_FILE_BYTES, backupCount=LOG_FILES_KEPT, encoding="utf-8"
            )
        )
    for handler in handlers:
        if fmt == "json":
            handler.setFormatter(JsonFormatter())
        else:
            handler.setFormatter(
                logging.Formatter("%(asctime)s %(levelname)-8s %(name)s: %(message)s")
            )
    root = logging.getLogger()
    root.handlers[:] = handlers
    root.setLevel(level)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
