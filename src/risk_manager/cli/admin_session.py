"""What every ``risk-manager admin`` command works with: the config file, the password, the
running daemon's admin API (when it runs) or the store directly (when it does not).

Errors the admin should read are :class:`AdminFailure` (one line, an exit code), never a
traceback.
"""

from __future__ import annotations

import contextlib
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from risk_manager.admin.audit_trail import cli_actor, record
from risk_manager.admin.config_edit import ConfigFile, Edit, EditRefused
from risk_manager.admin.password import PasswordFile
from risk_manager.api.admin import LOGIN, PREFIX
from risk_manager.config.models import Config
from risk_manager.domain.errors import RiskManagerError
from risk_manager.store.holder import hold_store
from risk_manager.store.store import Store
from risk_manager.types import JSON, utc_now

USER_MISTAKE = 2  # exit code: a bad argument, a refused change, a wrong password
FAILED = 1  # exit code: the daemon or the gateway could not do it
HTTP_TIMEOUT = 30.0  # seconds: a reload or a lock clearing answers well within it
PROBE_TIMEOUT = 2.0


class AdminFailure(Exception):
    """A command that cannot be done: ``message`` for the admin, ``code`` for the shell;
    ``reasons`` lists a refusal's causes (the config models', the daemon's)."""

    def __init__(self, message: str, code: int = USER_MISTAKE, reasons: list[str] | None = None):
        super().__init__(message)
        self.code = code
        self.reasons = reasons or []


@dataclass
class AdminSession:
    """One admin's session over the config file at ``path``. ``ask_password`` prompts (hidden)
    and returns what was typed."""

    path: Path
    ask_password: Callable[[str], str]
    _config: Config | None = None
    _token: str | None = None
    _running: bool | None = None
    actor: str = field(default_factory=cli_actor)

    @property
    def file(self) -> ConfigFile:
        return ConfigFile(self.path)

    @property
    def config(self) -> Config:
        """The file's config (unset ``${VAR}`` accepted); :class:`AdminFailure` when invalid."""
        if self._config is None:
            try:
                self._config = self.file.load()
            except EditRefused as exc:
                raise AdminFailure(
                    f"{self.path} is not a valid config", reasons=exc.reasons
                ) from None
        return self._config

    def forget_config(self) -> None:
        """Read the file again at next use (after an edit)."""
        self._config = None

    @property
    def password(self) -> PasswordFile:
        path = self.config.admin.password_file
        assert path is not None  # the loader fills it in
        return PasswordFile(path)

    @property
    def url(self) -> str:
        return self.config.api.url

    def daemon_running(self) -> bool:
        """Whether the daemon's API answers (any HTTP status: a degraded daemon runs)."""
        if self._running is None:
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=PROBE_TIMEOUT):  # noqa: S310  # nosec B310 - our API's http URL
                    self._running = True
            except urllib.error.HTTPError:
                self._running = True
            except (urllib.error.URLError, OSError):
                self._running = False
        return self._running

    # -- the running daemon ------------------------------------------------------------------

    def _request(self, method: str, path: str, body: JSON | None, token: str | None) -> JSON:
        data = None if body is None else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(self.url + path, data=data, method=method)  # noqa: S310  # nosec B310
        if data is not None:
            request.add_header("Content-Type", "application/json")
        if token is not None:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:  # noqa: S310  # nosec B310
                answer: JSON = json.loads(response.read() or b"{}")
                return answer
        except urllib.error.HTTPError as exc:
            try:
                answer = json.loads(exc.read() or b"{}")
            except ValueError:
                answer = {}
            raise self._refusal(exc.code, answer) from None
        except (urllib.error.URLError, OSError) as exc:
            raise AdminFailure(
                f"the daemon's API at {self.url} does not answer ({exc})", FAILED
            ) from None

    @staticmethod
    def _refusal(status: int, answer: JSON) -> AdminFailure:
        message = str(answer.get("error", f"HTTP {status}"))
        reasons = [str(r) for r in answer.get("reasons") or []]
        reload = answer.get("reload")
        if isinstance(reload, dict):
            reasons += [str(r) for r in reload.get("reasons") or []]
        code = USER_MISTAKE if status in (400, 401, 404, 409, 422, 429) else FAILED
        return AdminFailure(message, code, reasons)

    def login(self) -> str:
        """A token from the daemon (asks the password once per session)."""
        if self._token is None:
            password = self.ask_password("Admin password")
            answer = self._request("POST", LOGIN, {"password": password}, None)
            self._token = str(answer["token"])
        return self._token

    def api(self, method: str, path: str, body: JSON | None = None) -> JSON:
        """Call ``/api/v1/admin/<path>`` on the running daemon, logged in."""
        return self._request(method, f"{PREFIX}/{path}", body, self.login())

    def read(self, path: str) -> JSON:
        """``GET /api/v1/<path>`` of the running daemon's read API (no login: it is read-only)."""
        return self._request("GET", f"/api/v1/{path}", None, None)

    # -- the stopped daemon ------------------------------------------------------------------

    def audit_locally(self, action: str, *, beside_daemon: bool = False, **detail: Any) -> None:
        """Write the act's audit row to the store directly. Refused while a daemon holds the
        store, unless ``beside_daemon``: an act on a file of the admin's own (the password),
        whose row SQLite takes beside the daemon's writes."""
        store_path = self.config.store.path
        try:
            with contextlib.ExitStack() as held:
                if not beside_daemon:
                    held.enter_context(hold_store(store_path))
                store = held.enter_context(Store.open(store_path))
                record(store, self.actor, action, utc_now(), **detail)
        except RiskManagerError as exc:
            raise AdminFailure(f"cannot write the audit row: {exc}", FAILED) from None

    def local_edit(self, edit: Callable[[ConfigFile], Edit], reason: str) -> Edit:
        """Make ``edit`` on the file, audited, holding the store all along: a daemon that
        holds it (its API silent) refuses the edit before the file is touched, and none can
        start and read the file half-way."""
        store_path = self.config.store.path
        try:
            with hold_store(store_path):
                try:
                    done = edit(self.file)
                except EditRefused as exc:
                    raise AdminFailure(
                        "refused: the config models do not accept it", reasons=exc.reasons
                    ) from None
                self.forget_config()
                self.audit_locally(
                    done.action,
                    reason=reason,
                    before=done.before,
                    after=done.after,
                    target=done.target,
                    **done.detail,
                )
        except AdminFailure:
            raise
        except RiskManagerError as exc:
            raise AdminFailure(f"the file was not changed: {exc}", FAILED) from None
        return done
