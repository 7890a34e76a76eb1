"""Session tokens (JWT-shaped, HMAC-SHA256) and the sliding-window rate limiter (§3, §4)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import secrets
from collections import deque
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from risk_manager.types import Clock

TOKEN_LIFETIME = timedelta(hours=24)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenIssuer:
    """Issues and checks three-segment HS256 tokens signed with a per-process secret.

    ``expire_all`` bumps a generation counter carried in every token, so every token issued
    before it stops validating at once (fault injection); ``revoke`` handles logout. Both call
    every ``on_revoke`` callback afterwards (the hubs log out the sessions that ended).
    """

    def __init__(self, clock: Clock, lifetime: timedelta = TOKEN_LIFETIME):
        self._clock = clock
        self._lifetime = lifetime
        self._secret = secrets.token_bytes(32)
        self._generation = 0
        self._revoked: set[str] = set()
        self.on_revoke: list[Callable[[], object]] = []

    def issue(self, username: str) -> str:
        now = self._clock()
        header = {"alg": "HS256", "typ": "JWT"}
        payload = {
            "sub": username,
            "iat": int(now.timestamp()),
            "exp": int((now + self._lifetime).timestamp()),
            "jti": secrets.token_hex(8),
            "gen": self._generation,
        }
        signing = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(payload).encode())}"
        return f"{signing}.{self._sign(signing)}"

    def _sign(self, signing_input: str) -> str:
        return _b64(hmac.new(self._secret, signing_input.encode(), hashlib.sha256).digest())

    def claims(self, token: str) -> dict[str, Any] | None:
        """The payload of a valid, unexpired, unrevoked token; None otherwise."""
        parts = token.split(".")
        if len(parts) != 3 or token in self._revoked:
            return None
        signing = f"{parts[0]}.{parts[1]}"
        if not hmac.compare_digest(self._sign(signing), parts[2]):
            return None
        try:
            payload: dict[str, Any] = json.loads(_unb64(parts[1]))
        except ValueError:
            return None
        if payload.get("gen") != self._generation:
            return None
        if payload.get("exp", 0) <= self._clock().timestamp():
            return None
        return payload

    def valid(self, token: str) -> bool:
        return self.claims(token) is not None

    def revoke(self, token: str) -> None:
        self._revoked.add(token)
        self._revoked_now()

    def expire_all(self) -> None:
        self._generation += 1
        self._revoked_now()

    def _revoked_now(self) -> None:
        for callback in self.on_revoke:
            callback()


class RateLimiter:
    """Sliding window: at most ``limit`` requests per ``window`` seconds per key."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._hits: dict[str, deque[float]] = {}

    def check(self, key: str, now: float) -> float | None:
        """Record a hit and return None, or the seconds to wait when over the limit."""
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            return hits[0] + self.window - now
        hits.append(now)
        return None

    def clear(self) -> None:
        self._hits.clear()


def retry_after_header(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
