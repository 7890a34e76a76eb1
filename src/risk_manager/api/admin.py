"""The admin API (docs/ADMIN.md): login, then locks, resets, reloads, rules, accounts,
credentials and the audit log, every act audited.

Security model, in the order a request meets it (``_admin_guard``):

1. An ``Origin`` header that is not this server's own origin is refused (403): a page of
   another site cannot drive the admin API from the admin's browser. No CORS header is sent.
2. A request with a body must say ``Content-Type: application/json`` (415): an HTML form
   cannot send that cross-site without a preflight, which nothing here answers.
3. Every endpoint but the login needs ``Authorization: Bearer <token>`` (401); a token is
   random, lives 15 minutes, in memory only (a restart logs everyone out).
4. Five failed logins block logins for 5 minutes, from that client address and, separately,
   from everyone (429 with ``Retry-After``): guessing is capped at 5 tries per 5 minutes.
   Logins are verified one at a time, so guesses sent at once count like guesses in a row.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from yarl import URL

from risk_manager.admin.audit_trail import api_actor, record
from risk_manager.admin.config_edit import ConfigFile, Edit, EditRefused
from risk_manager.admin.password import PasswordFile
from risk_manager.api.read_model import ReadModel, dumps, iso
from risk_manager.config.rules import RULE_KEYS
from risk_manager.domain.errors import RiskManagerError
from risk_manager.runtime.control_port import AdminControl
from risk_manager.store.ports import AuditStore
from risk_manager.types import JSON, Clock, Monotonic, utc_now

PREFIX = "/api/v1/admin"
LOGIN = f"{PREFIX}/login"
TOKEN_LIFETIME = 15 * 60.0  # seconds
MAX_FAILURES = 5
BLOCK_SECONDS = 5 * 60.0
MAX_AUDIT = 500
_EVERYONE = "*"


class LoginThrottle:
    """Failed logins per client address and overall: ``MAX_FAILURES`` within
    ``BLOCK_SECONDS`` block that client (or everyone) until ``BLOCK_SECONDS`` after the last
    counted failure. Monotonic seconds, injected for tests."""

    def __init__(self, monotonic: Monotonic = time.monotonic) -> None:
        self._monotonic = monotonic
        self._failures: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and now - times[0] >= BLOCK_SECONDS:
            times.popleft()
        return times

    def retry_after(self, client: str) -> float | None:
        """Seconds until ``client`` may try again, or None when it may now."""
        now = self._monotonic()
        waits = [
            BLOCK_SECONDS - (now - times[-1])
            for times in (self._recent(client, now), self._recent(_EVERYONE, now))
            if len(times) >= MAX_FAILURES
        ]
        return max(waits) if waits else None

    def failed(self, client: str) -> None:
        """Count a wrong password from ``client``."""
        now = self._monotonic()
        for key in (client, _EVERYONE):
            self._recent(key, now).append(now)

    def succeeded(self, client: str) -> None:
        """A right password: the client's own count starts again (the overall one does not)."""
        self._failures.pop(client, None)


@dataclass
class _Session:
    who: str
    expires: float  # monotonic
    expires_at: datetime
    password: str | None  # the password file's fingerprint when issued


class TokenBook:
    """Bearer tokens in memory: 32 random bytes each, kept only as their SHA-256."""

    def __init__(self, clock: Clock = utc_now, monotonic: Monotonic = time.monotonic) -> None:
        self._clock = clock
        self._monotonic = monotonic
        self._sessions: dict[str, _Session] = {}

    @staticmethod
    def _key(token: str) -> str:
        return hashlib.sha256(token.encode("utf-8")).hexdigest()

    def issue(self, who: str, password: str | None = None) -> tuple[str, datetime]:
        """A new token for ``who`` and the instant it expires; ``password``: the password
        file's fingerprint now (``PasswordFile.fingerprint``)."""
        now = self._monotonic()
        self._sessions = {k: s for k, s in self._sessions.items() if s.expires > now}
        token = secrets.token_urlsafe(32)
        expires_at = self._clock() + timedelta(seconds=TOKEN_LIFETIME)
        self._sessions[self._key(token)] = _Session(who, now + TOKEN_LIFETIME, expires_at, password)
        return token, expires_at

    def who(self, token: str, password: str | None = None) -> str | None:
        """The login the token belongs to, or None when unknown, expired, or issued under
        another password (``password``: the fingerprint now; a changed password ends every
        session at once)."""
        session = self._sessions.get(self._key(token))
        if session is None or session.expires <= self._monotonic():
            return None
        if session.password != password:
            return None
        return session.who

    def revoke(self, token: str) -> None:
        """End the token's session (logout)."""
        self._sessions.pop(self._key(token), None)


@dataclass
class AdminSurface:
    """What the admin API is handed by the command that serves it (``cli/run.py``).

    ``control`` is the daemon's; None while the daemon offers none (its acts answer 503).
    """

    password: PasswordFile
    config: ConfigFile
    audit: AuditStore
    read_model: ReadModel
    control: AdminControl | None = None
    clock: Clock = utc_now
    monotonic: Monotonic = time.monotonic
    throttle: LoginThrottle = field(init=False)
    tokens: TokenBook = field(init=False)
    # Logins take turns: the throttle's check, the (slow) verification and its count are one
    # step, else guesses sent at once all pass the check before any failure is counted.
    login_turn: asyncio.Lock = field(init=False, default_factory=asyncio.Lock)

    def __post_init__(self) -> None:
        self.throttle = LoginThrottle(self.monotonic)
        self.tokens = TokenBook(self.clock, self.monotonic)

    async def audited(self, who: str, action: str, **detail: Any) -> None:
        """One audit row, written off the event loop (the store is SQLite)."""
        await asyncio.to_thread(record, self.audit, who, action, self.clock(), **detail)


ADMIN = web.AppKey("admin", AdminSurface)
_WHO = web.RequestKey("admin_who", str)


class _Refusal(Exception):
    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.extra = extra


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(data, status=status, dumps=dumps, headers=headers)


def _error(status: int, message: str, **extra: Any) -> web.Response:
    return _json({"error": message, **extra}, status)


def _client(request: web.Request) -> str:
    return request.remote or "unknown"


def _own_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    url = URL(origin)
    return url.scheme == request.scheme and url.raw_authority == request.host


@web.middleware
async def admin_guard(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Origin, content type and bearer token checks for every ``/api/v1/admin/`` route."""
    if not request.path.startswith(PREFIX + "/") or ADMIN not in request.app:
        return await handler(request)
    if not _own_origin(request):
        return _error(403, "cross-origin admin requests are refused")
    if request.method not in ("GET", "HEAD") and request.content_type != "application/json":
        return _error(415, "admin requests with a body must be application/json")
    if request.path != LOGIN:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        admin = request.app[ADMIN]
        fingerprint = admin.password.fingerprint()
        who = admin.tokens.who(token.strip(), fingerprint) if scheme == "Bearer" else None
        if who is None:  # no WWW-Authenticate: a browser must not pop up a login dialog
            return _error(401, "admin login needed", login=LOGIN)
        request[_WHO] = who
    try:
        return await handler(request)
    except _Refusal as exc:
        return _error(exc.status, str(exc), **exc.extra)
    except EditRefused as exc:
        return _error(422, "the config models refuse this change", reasons=exc.reasons)
    except RiskManagerError as exc:  # the control's refusals: unknown account or lock, ...
        return _error(404 if isinstance(exc, LookupError) else 409, str(exc))


async def _body(request: web.Request) -> JSON:
    try:
        data = await request.json()
    except ValueError:
        raise _Refusal(400, "the body is not JSON") from None
    if not isinstance(data, dict):
        raise _Refusal(400, "the body must be a JSON object")
    return data


def _field(data: JSON, name: str, kind: type, *, required: bool = True) -> Any:
    value = data.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _Refusal(400, f"{name} must be a {kind.__name__}", parameter=name)
    return value


def _reason(data: JSON, required: bool) -> str:
    reason = data.get("reason", "")
    if not isinstance(reason, str) or (required and not reason.strip()):
        raise _Refusal(400, "a reason is required", parameter="reason")
    return reason.strip()


def _control(request: web.Request) -> AdminControl:
    control = request.app[ADMIN].control
    if control is None:
        raise _Refusal(503, "this daemon offers no admin control (reload, clear, reset)")
    return control


async def _login(request: web.Request) -> web.Response:
    password = (await _body(request)).get("password")  # read first: a slow body holds no turn
    async with request.app[ADMIN].login_turn:
        return await _login_turn(request, password)


async def _login_turn(request: web.Request, password: Any) -> web.Response:
    admin = request.app[ADMIN]
    client = _client(request)
    wait = admin.throttle.retry_after(client)
    if wait is not None:
        seconds = math.ceil(wait)
        return _json(
            {"error": f"too many failed logins: try again in {seconds} s"},
            429,
            headers={"Retry-After": str(seconds)},
        )
    if not admin.password.is_set():
        return _error(409, "no admin password is set: run `risk-manager admin password`")
    who = api_actor(client)
    ok = isinstance(password, str) and await asyncio.to_thread(admin.password.verify, password)
    if not ok:
        admin.throttle.failed(client)
        await admin.audited(who, "admin.login_failed")
        return _error(401, "wrong password")
    admin.throttle.succeeded(client)
    token, expires_at = admin.tokens.issue(who, admin.password.fingerprint())
    await admin.audited(who, "admin.login")
    return _json({"token": token, "expires_at": iso(expires_at)})


async def _logout(request: web.Request) -> web.Response:
    admin = request.app[ADMIN]
    admin.tokens.revoke(request.headers["Authorization"].partition(" ")[2].strip())
    await admin.audited(request[_WHO], "admin.logout")
    return _json({"ok": True})


def _result(result: Any) -> JSON:
    return {k: iso(v) if isinstance(v, datetime) else v for k, v in asdict(result).items()}


async def _accounts(request: web.Request) -> web.Response:
    admin = request.app[ADMIN]
    config = await asyncio.to_thread(admin.config.load)
    await admin.read_model.current()
    listed = [
        {"id": e.id, "name": e.name, "enabled": e.enabled, "overrides": sorted(e.rules)}
        for e in config.accounts.list
    ]
    monitored = [
        {k: view.get(k) for k in ("id", "name", "can_trade", "locked")}
        for view in admin.read_model.accounts()
    ]
    return _json({"mode": config.accounts.mode, "listed": listed, "monitored": monitored})


async def _locks(request: web.Request) -> web.Response:
    admin = request.app[ADMIN]
    await admin.read_model.current()
    locks = [
        {"account": view.get("id"), **lock}
        for view in admin.read_model.accounts()
        for lock in view.get("locks") or []
    ]
    return _json({"locks": locks})


async def _clear_lock(request: web.Request) -> web.Response:
    data = await _body(request)
    account = _field(data, "account", int)
    lock = _field(data, "lock", int, required=False)
    reason = _reason(data, required=True)
    who = request[_WHO]
    result = await _control(request).clear_lock(account, lock, who=who, reason=reason)
    body = _result(result)
    await request.app[ADMIN].audited(
        who,
        "lock.clear",
        reason=reason,
        before=result.before,
        after=result.after,
        account=account,
        lock=lock,
        effective_at=body["effective_at"],
        summary=result.summary,
    )
    return _json(body)


async def _reset(request: web.Request) -> web.Response:
    data = await _body(request)
    account = _field(data, "account", int)
    reason = _reason(data, required=True)
    who = request[_WHO]
    result = await _control(request).reset_account(account, who=who, reason=reason)
    body = _result(result)
    await request.app[ADMIN].audited(
        who,
        "account.reset",
        reason=reason,
        before=result.before,
        after=result.after,
        account=account,
        effective_at=body["effective_at"],
        summary=result.summary,
    )
    return _json(body)


async def _reload_and_audit(request: web.Request, reason: str, edit: Edit | None) -> web.Response:
    who = request[_WHO]
    result = await _control(request).reload(who=who, reason=reason)
    body = _result(result)
    detail: dict[str, Any] = {"effective_at": body["effective_at"], "reload_ok": result.ok}
    if edit is None:
        action, before, after = "config.reload", result.before, result.after
    else:
        action, before, after = edit.action, edit.before, edit.after
        detail |= {"target": edit.target, **edit.detail}
    if not result.ok:
        detail["reload_reasons"] = result.reasons
    await request.app[ADMIN].audited(
        who, action, reason=reason, before=before, after=after, **detail
    )
    if not result.ok:
        written = "" if edit is None else " (the file holds the change; it is not in force)"
        return _error(409, f"the daemon refused the config{written}", reload=body)
    return _json({"reload": body} if edit is None else {"edit": asdict(edit), "reload": body})


async def _reload(request: web.Request) -> web.Response:
    reason = _reason(await _body(request), required=False)
    return await _reload_and_audit(request, reason, None)


async def _rules(request: web.Request) -> web.Response:
    admin = request.app[ADMIN]
    raw = request.query.get("account", "")
    config = await asyncio.to_thread(admin.config.load)
    if raw:
        if not raw.isdigit():
            return _error(400, f"account must be an integer, got {raw!r}", parameter="account")
        rules = config.rules_for(int(raw))
    else:
        rules = config.rules
    return _json({"account": int(raw) if raw else None, "rules": rules.model_dump(mode="json")})


async def _edit_then_reload(
    request: web.Request, reason: str, edit: Callable[[], Edit]
) -> web.Response:
    _control(request)  # no file edit that could not be put in force
    return await _reload_and_audit(request, reason, await asyncio.to_thread(edit))


async def _set_rule(request: web.Request) -> web.Response:
    data = await _body(request)
    rule, key = _field(data, "rule", str), _field(data, "key", str)
    if rule not in RULE_KEYS:
        raise EditRefused([f"unknown rule {rule!r}; rules are: {', '.join(RULE_KEYS)}"])
    account = _field(data, "account", int, required=False)
    value = data.get("value")
    reason = _reason(data, required=False)
    config = request.app[ADMIN].config
    return await _edit_then_reload(
        request, reason, lambda: config.set_rule(rule, key, value, account)
    )


async def _edit_account(request: web.Request) -> web.Response:
    data = await _body(request)
    op = _field(data, "op", str)
    account = _field(data, "account", int)
    reason = _reason(data, required=False)
    config = request.app[ADMIN].config
    edits: dict[str, Callable[[], Edit]] = {
        "add": lambda: config.add_account(account, _field(data, "name", str, required=False)),
        "remove": lambda: config.remove_account(account),
        "enable": lambda: config.set_account_enabled(account, True),
        "disable": lambda: config.set_account_enabled(account, False),
    }
    if op not in edits:
        return _error(400, f"op must be one of {', '.join(edits)}", parameter="op")
    return await _edit_then_reload(request, reason, edits[op])


async def _credentials(request: web.Request) -> web.Response:
    data = await _body(request)
    api_key = _field(data, "api_key", str)
    username = _field(data, "username", str, required=False)
    reason = _reason(data, required=False)
    admin = request.app[ADMIN]
    key_file = (await asyncio.to_thread(admin.config.load)).admin.key_file
    assert key_file is not None  # the loader fills it in
    return await _edit_then_reload(
        request, reason, lambda: admin.config.set_credentials(username, api_key, key_file)
    )


async def _audit(request: web.Request) -> web.Response:
    raw = request.query.get("limit", "100")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_AUDIT:
        return _error(400, f"limit must be 1..{MAX_AUDIT}, got {raw!r}", parameter="limit")
    entries = await asyncio.to_thread(request.app[ADMIN].audit.audit_log, int(raw))
    rows = [
        {"id": e.id, "at": iso(e.at), "actor": e.actor, "action": e.action, "detail": e.detail}
        for e in entries
    ]
    return _json({"audit": rows})


def add_admin_routes(app: web.Application, admin: AdminSurface) -> None:
    """Serve the admin API on ``app`` (its ``admin_guard`` middleware must be installed)."""
    app[ADMIN] = admin
    app.router.add_post(LOGIN, _login)
    app.router.add_post(f"{PREFIX}/logout", _logout)
    app.router.add_get(f"{PREFIX}/accounts", _accounts)
    app.router.add_post(f"{PREFIX}/accounts", _edit_account)
    app.router.add_get(f"{PREFIX}/locks", _locks)
    app.router.add_post(f"{PREFIX}/locks/clear", _clear_lock)
    app.router.add_post(f"{PREFIX}/reset", _reset)
    app.router.add_post(f"{PREFIX}/reload", _reload)
    app.router.add_get(f"{PREFIX}/rules", _rules)
    app.router.add_post(f"{PREFIX}/rules", _set_rule)
    app.router.add_post(f"{PREFIX}/credentials", _credentials)
    app.router.add_get(f"{PREFIX}/audit", _audit)
