"""Session token lifecycle: log in with the API key, refresh via ``Auth/validate`` well before
``exp``, and fall back to a fresh login (API doc §3.5).

Refresh policy: refresh when less than ``max(10% of the token's lifetime, 5 minutes)`` remains
(2.4 h before expiry for the gateway's 24 h tokens). A token whose ``exp`` cannot be decoded is
assumed to live 24 h from when we received it. The token is never logged, never put in an
exception message, and hidden from ``repr``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from risk_manager.domain.errors import RiskManagerError
from risk_manager.redact import REDACTOR
from risk_manager.types import Clock

_log = logging.getLogger(__name__)

Login = Callable[[], Awaitable[str]]
Validate = Callable[[str], Awaitable[str]]

DEFAULT_LIFETIME = timedelta(hours=24)
MIN_MARGIN = timedelta(minutes=5)
MARGIN_FRACTION = 0.10


def jwt_times(token: str) -> tuple[datetime | None, datetime | None]:
    """(iat, exp) from a JWT's payload segment, or None for what cannot be read."""
    parts = token.split(".")
    if len(parts) != 3:
        return None, None
    segment = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(segment.encode("ascii")))
    except (binascii.Error, ValueError, UnicodeError):
        return None, None
    if not isinstance(claims, dict):
        return None, None

    def stamp(key: str) -> datetime | None:
        value = claims.get(key)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, UTC)
        return None

    return stamp("iat"), stamp("exp")


class TokenManager:
    """Holds the one session token; ``get()`` always returns a token good for a while."""

    def __init__(self, login: Login, validate: Validate, clock: Clock) -> None:
        self._login = login
        self._validate = validate
        self._clock = clock
        self._token: str | None = None
        self._refresh_at: datetime | None = None
        self._expires_at: datetime | None = None
        self._lock = asyncio.Lock()
        self.logins = 0
        self.validations = 0
        self.failing: str | None = None  # why the last login or refresh failed (None: it worked)
        self.failing_since: datetime | None = None  # since when they fail, unbroken

    def __repr__(self) -> str:
        state = "none" if self._token is None else f"expires {self._expires_at}"
        return f"TokenManager(token=<redacted>, {state})"

    @property
    def expires_at(self) -> datetime | None:
        return self._expires_at

    def _store(self, token: str) -> None:
        REDACTOR.add(token)  # masked in any log line it might reach (docs/LOGGING.md)
        now = self._clock()
        iat, exp = jwt_times(token)
        issued = iat if iat is not None and iat <= now else now
        expires = exp if exp is not None else now + DEFAULT_LIFETIME
        margin = max((expires - issued) * MARGIN_FRACTION, MIN_MARGIN)
        self._token = token
        self._expires_at = expires
        self._refresh_at = expires - margin

    def _fresh(self) -> bool:
        return (
            self._token is not None
            and self._refresh_at is not None
            and self._clock() < self._refresh_at
        )

    async def get(self) -> str:
        """A usable token: logs in on first use, refreshes when inside the margin."""
        if self._fresh():
            assert self._token is not None
            return self._token
        async with self._lock:
            if not self._fresh():
                await self._renew()
            assert self._token is not None
            return self._token

    async def invalidate(self, rejected: str) -> str:
        """After a 401 with ``rejected``: renew unless another caller already did."""
        async with self._lock:
            if self._token == rejected or self._token is None:
                # The server no longer accepts this token, so validating it is pointless.
                self._refresh_at = None
                self._expires_at = None
                await self._renew()
            assert self._token is not None
            return self._token

    async def _renew(self) -> None:
        """Refresh or log in; a failure is remembered in ``failing`` (the alert watch reads
        it) until one succeeds."""
        try:
            await self._renew_once()
        except Exception as exc:
            if self.failing_since is None:
                self.failing_since = self._clock()
            self.failing = f"{type(exc).__name__}: {exc}"
            raise
        self.failing = None
        self.failing_since = None

    async def _renew_once(self) -> None:
        current = self._token
        if (
            current is not None
            and self._expires_at is not None
            and self._clock() < (self._expires_at)
        ):
            try:
                self.validations += 1
                self._store(await self._validate(current))
                _log.info("session token refreshed via Auth/validate")
                return
            except RiskManagerError as exc:
                # Fall through to a fresh login; the refusal text never carries the token.
                _log.warning("Auth/validate failed (%s); logging in again", type(exc).__name__)
        self.logins += 1
        self._store(await self._login())
        _log.info("logged in; session token expires %s", self._expires_at)
