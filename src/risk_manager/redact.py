"""Secrets kept out of every log line (docs/LOGGING.md "Redaction").

One :class:`Redactor` holds the secret values the process knows (the API key, the session
token, the webhook URL, the SMTP password) and the patterns that give a secret away whatever
its value: an ``Authorization`` header, a JWT, an ``apiKey``/``password``/``token`` field.
:data:`REDACTOR` is the process's one instance: the gateway's token manager adds each token it
receives, the log set-up adds the configured secrets, and the log filter
(:class:`risk_manager.runtime.logs.RedactFilter`) passes every record through it.
"""

from __future__ import annotations

import re
import threading

MASK = "[REDACTED]"
MIN_SECRET = 6  # characters: shorter values would mask ordinary words and numbers

_PATTERNS = (
    # Authorization: Bearer <anything up to the end of the value>
    re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)(?:bearer\s+|basic\s+)?[^\s'\",}]+"),
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{8,}"),
    # a JWT: three base64url parts, the first one a JSON header ("eyJ" = '{"')
    re.compile(r"()eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"),
    # "apiKey": "…", password=…, token: …, secret …
    re.compile(
        r"(?i)(['\"]?(?:api_?key|password|passwd|secret|token|smtp_password)['\"]?\s*[:=]\s*"
        r"['\"]?)[^\s'\",}]+"
    ),
)


class Redactor:
    """Masks known secret values and secret-shaped text; thread-safe (log records are
    formatted in whichever thread logs)."""

    def __init__(self) -> None:
        self._secrets: frozenset[str] = frozenset()
        self._mutex = threading.Lock()

    def add(self, *values: str | None) -> None:
        """Remember ``values`` as secrets (None, blanks and values under ``MIN_SECRET``
        characters are ignored)."""
        keep = {v for v in values if v is not None and len(v.strip()) >= MIN_SECRET}
        if keep:
            with self._mutex:
                self._secrets = self._secrets | keep

    def forget_all(self) -> None:
        """Drop every remembered value (tests)."""
        with self._mutex:
            self._secrets = frozenset()

    def __call__(self, text: str) -> str:
        """``text`` with each known secret and each secret-shaped part replaced by ``MASK``."""
        # longest first: a token that contains a shorter secret is masked whole
        for secret in sorted(self._secrets, key=len, reverse=True):
            if secret in text:
                text = text.replace(secret, MASK)
        for pattern in _PATTERNS:
            text = pattern.sub(lambda m: m.group(1) + MASK, text)
        return text


REDACTOR = Redactor()
"""The process's redactor: every log handler's filter uses it."""
