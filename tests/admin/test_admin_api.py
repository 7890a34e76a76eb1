"""The admin API over a real socket: login and throttle, token, origin, content type, every
act reaching the daemon's control and audited, rules set editing the file (docs/ADMIN.md)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from admin.support import API_KEY, CONFIG, NOW, PASSWORD, FakeControl, write_config
from api.browser import chromium_page
from risk_manager.admin.config_edit import ConfigFile
from risk_manager.admin.password import PasswordFile
from risk_manager.api.admin import (
    BLOCK_SECONDS,
    LOGIN,
    PREFIX,
    TOKEN_LIFETIME,
    AdminSurface,
    LoginThrottle,
    TokenBook,
)
from risk_manager.api.demo_server import demo_model
from risk_manager.api.server import create_api_app, running_api
from risk_manager.runtime.metrics import Metrics
from risk_manager.store.store import Store

JSON_TYPE = {"Content-Type": "application/json"}

# Every admin route but the login, with a body that would act if the token were right.
ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("POST", f"{PREFIX}/logout", {}),
    ("GET", f"{PREFIX}/accounts", None),
    ("POST", f"{PREFIX}/accounts", {"op": "add", "account": 2002, "reason": "r"}),
    ("GET", f"{PREFIX}/locks", None),
    ("POST", f"{PREFIX}/locks/clear", {"account": 1001, "lock": 7, "reason": "r"}),
    ("POST", f"{PREFIX}/reset", {"account": 1001, "reason": "r"}),
    ("POST", f"{PREFIX}/reload", {"reason": "r"}),
    ("GET", f"{PREFIX}/rules", None),
    (
        "POST",
        f"{PREFIX}/rules",
        {"rule": "max_contracts", "key": "limit", "value": 9, "reason": "r"},
    ),
    ("POST", f"{PREFIX}/credentials", {"api_key": API_KEY, "reason": "r"}),
    ("GET", f"{PREFIX}/audit", None),
]


@dataclass
class Admin:
    url: str
    http: aiohttp.ClientSession
    control: FakeControl
    store: Store
    config: Path
    surface: AdminSurface

    async def call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        sent = dict(JSON_TYPE if body is not None else {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        sent |= headers or {}
        async with self.http.request(method, self.url + path, json=body, headers=sent) as resp:
            return resp.status, await resp.json(), dict(resp.headers)

    async def login(self, password: str = PASSWORD) -> tuple[int, dict[str, Any]]:
        status, body, _ = await self.call("POST", LOGIN, {"password": password})
        return status, body

    async def token(self) -> str:
        status, body = await self.login()
        assert status == 200, body
        token = body["token"]
        assert isinstance(token, str)
        return token


@pytest.fixture
def password_file(tmp_path: Path) -> PasswordFile:
    password = PasswordFile(tmp_path / "admin.pwd")
    password.set(PASSWORD)
    return password


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "rm.sqlite") as store:
        yield store


@pytest.fixture
async def admin(
    tmp_path: Path, password_file: PasswordFile, sqlite: Store, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Admin]:
    monkeypatch.setenv("RISK_MANAGER_KEK", "")  # the key file beside the config, not the env
    config = write_config(tmp_path)
    control = FakeControl()
    surface = AdminSurface(
        password=password_file,
        config=ConfigFile(config),
        audit=sqlite,
        read_model=demo_model(NOW),
        control=control,
        clock=lambda: NOW,
    )
    async with (
        running_api(demo_model(NOW), Metrics(), port=0, admin=surface) as api,
        aiohttp.ClientSession() as http,
    ):
        yield Admin(api.url, http, control, sqlite, config, surface)


async def test_the_right_password_gives_a_15_minute_token(admin: Admin) -> None:
    status, body = await admin.login()
    assert status == 200
    assert len(body["token"]) >= 40
    assert body["expires_at"] == "2026-03-10T19:45:00Z"
    status, rows, _ = await admin.call("GET", f"{PREFIX}/audit", token=body["token"])
    assert status == 200
    assert [(r["actor"], r["action"]) for r in rows["audit"]] == [
        ("admin@127.0.0.1", "admin.login")
    ]


async def test_a_changed_password_ends_every_session_at_once(
    admin: Admin, password_file: PasswordFile
) -> None:
    token = await admin.token()
    status, _, _ = await admin.call("GET", f"{PREFIX}/audit", token=token)
    assert status == 200
    password_file.set("another-desk-password")  # `admin password`, by another process
    status, body, _ = await admin.call("GET", f"{PREFIX}/audit", token=token)
    assert status == 401, body  # not good for the rest of its 15 minutes
    status, login = await admin.login("another-desk-password")
    assert status == 200
    status, _, _ = await admin.call("GET", f"{PREFIX}/audit", token=login["token"])
    assert status == 200


async def test_a_wrong_password_is_refused_and_the_sixth_try_is_blocked(admin: Admin) -> None:
    for _ in range(5):
        status, body = await admin.login("wrong password!")
        assert (status, body) == (401, {"error": "wrong password"})
    # The sixth try is refused before the password is looked at: the right one too.
    status, body, headers = await admin.call("POST", LOGIN, {"password": PASSWORD})
    assert status == 429
    assert 0 < int(headers["Retry-After"]) <= BLOCK_SECONDS
    failed = [e.action for e in admin.store.audit_log()]
    assert failed == ["admin.login_failed"] * 5


def test_the_throttle_blocks_per_client_and_overall_for_five_minutes() -> None:
    now = [1000.0]
    throttle = LoginThrottle(lambda: now[0])
    for _ in range(5):
        assert throttle.retry_after("10.0.0.1") is None
        throttle.failed("10.0.0.1")
    assert throttle.retry_after("10.0.0.1") == BLOCK_SECONDS
    now[0] += BLOCK_SECONDS - 1
    assert throttle.retry_after("10.0.0.1") == 1
    now[0] += 1
    assert throttle.retry_after("10.0.0.1") is None
    # Overall: five clients failing once each block a sixth that never failed.
    for client in range(5):
        throttle.failed(f"10.0.1.{client}")
        assert throttle.retry_after(f"10.0.1.{client}") is None or client == 4
    assert throttle.retry_after("10.0.2.1") == BLOCK_SECONDS


@pytest.mark.parametrize(("method", "path", "body"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
@pytest.mark.parametrize("token", [None, "not-a-token"], ids=["no token", "bad token"])
async def test_no_admin_route_acts_without_the_token(
    admin: Admin, method: str, path: str, body: dict[str, Any] | None, token: str | None
) -> None:
    status, answer, _ = await admin.call(method, path, body, token=token)
    assert status == 401
    assert answer["error"] == "admin login needed"
    assert admin.control.calls == []
    assert admin.config.read_text(encoding="utf-8") == CONFIG
    assert admin.store.audit_log() == []


def test_the_route_list_above_is_every_admin_route() -> None:
    surface = AdminSurface(
        password=PasswordFile(Path("unused")),
        config=ConfigFile(Path("unused")),
        audit=None,  # type: ignore[arg-type]  # never reached: only the routes are read
        read_model=demo_model(NOW),
    )
    app = create_api_app(demo_model(NOW), Metrics(), admin=surface)
    served = {
        (route.method, route.resource.canonical)
        for route in app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith(PREFIX)
        and route.method != "HEAD"  # aiohttp's twin of each GET, answered the same way
    }
    assert served - {("POST", LOGIN)} == {(m, p) for m, p, _ in ROUTES}


async def test_a_cross_origin_admin_request_is_refused(admin: Admin) -> None:
    token = await admin.token()
    clear = {"account": 1001, "lock": 7, "reason": "calm day"}
    for origin in ("https://evil.example", admin.url.replace("127.0.0.1", "localhost")):
        status, body, headers = await admin.call(
            "POST", f"{PREFIX}/locks/clear", clear, token=token, headers={"Origin": origin}
        )
        assert (status, body["error"]) == (403, "cross-origin admin requests are refused")
        assert "Access-Control-Allow-Origin" not in headers
    status, _, _ = await admin.call(
        "POST", LOGIN, {"password": PASSWORD}, headers={"Origin": "https://evil.example"}
    )
    assert status == 403
    assert admin.control.calls == []
    # The page's own origin may.
    status, _, _ = await admin.call(
        "POST", f"{PREFIX}/locks/clear", clear, token=token, headers={"Origin": admin.url}
    )
    assert status == 200


async def test_a_form_post_is_refused_whatever_its_token(admin: Admin) -> None:
    token = await admin.token()
    for content_type in ("application/x-www-form-urlencoded", "text/plain", "multipart/form-data"):
        async with admin.http.post(
            admin.url + f"{PREFIX}/reset",
            data='{"account": 1001, "reason": "x"}',
            headers={"Authorization": f"Bearer {token}", "Content-Type": content_type},
        ) as resp:
            assert resp.status == 415
    assert admin.control.calls == []


async def test_clear_and_reset_reach_the_control_and_are_audited(admin: Admin) -> None:
    token = await admin.token()
    status, body, _ = await admin.call(
        "POST", f"{PREFIX}/locks/clear", {"account": 1001, "lock": 7, "reason": "calm"}, token
    )
    assert (status, body["summary"], body["effective_at"]) == (
        200,
        "cleared",
        "2026-03-10T19:30:00Z",
    )
    status, _, _ = await admin.call(
        "POST", f"{PREFIX}/reset", {"account": 1001, "reason": "new day"}, token
    )
    assert status == 200
    assert admin.control.calls == [
        ("clear_lock", (1001, 7, "admin@127.0.0.1", "calm")),
        ("reset_account", (1001, "admin@127.0.0.1", "new day")),
    ]
    rows = {e.action: e for e in admin.store.audit_log()}
    assert rows["lock.clear"].actor == "admin@127.0.0.1"
    assert rows["lock.clear"].detail["reason"] == "calm"
    assert rows["lock.clear"].detail["before"] == {"locks": [7]}
    assert rows["account.reset"].detail["after"] == {"realized": "0.00"}


async def test_a_reason_is_required_to_clear_or_reset(admin: Admin) -> None:
    token = await admin.token()
    for path, body in (
        ("locks/clear", {"account": 1001}),
        ("reset", {"account": 1, "reason": " "}),
    ):
        status, answer, _ = await admin.call("POST", f"{PREFIX}/{path}", body, token)
        assert (status, answer["parameter"]) == (400, "reason")
    assert admin.control.calls == []


async def test_the_controls_refusals_are_404_and_409_with_their_message(admin: Admin) -> None:
    token = await admin.token()
    status, body, _ = await admin.call(
        "POST", f"{PREFIX}/locks/clear", {"account": 1001, "lock": 404, "reason": "x"}, token
    )
    assert (status, body["error"]) == (404, "no lock with id 404; list them with the lock history")
    status, body, _ = await admin.call(
        "POST", f"{PREFIX}/locks/clear", {"account": 409, "reason": "x"}, token
    )
    assert (status, body["error"]) == (409, "account 409 has no lock to clear")


async def test_rules_set_edits_the_file_keeps_its_comments_then_reloads(admin: Admin) -> None:
    token = await admin.token()
    body = {"rule": "daily_net_loss", "key": "limit", "value": 800, "reason": "tighter"}
    status, answer, _ = await admin.call("POST", f"{PREFIX}/rules", body, token)
    assert status == 200, answer
    text = admin.config.read_text(encoding="utf-8")
    assert text == CONFIG.replace("limit: 1000 ", "limit: 800  ")
    assert admin.control.calls == [("reload", ("admin@127.0.0.1", "tighter"))]
    row = admin.store.audit_log()[0]
    assert (row.action, row.detail["before"], row.detail["after"]) == ("rules.set", 1000, 800)
    status, shown, _ = await admin.call("GET", f"{PREFIX}/rules", token=token)
    assert shown["rules"]["daily_net_loss"]["limit"] == "800"


async def test_a_bad_rules_set_is_refused_with_the_file_unchanged(admin: Admin) -> None:
    token = await admin.token()
    before = admin.config.read_bytes()
    for body in (
        {"rule": "daily_net_loss", "key": "limit", "value": -5},
        {"rule": "daily_net_loss", "key": "no_such_key", "value": 1},
        {"rule": "no_such_rule", "key": "limit", "value": 1},
    ):
        status, answer, _ = await admin.call("POST", f"{PREFIX}/rules", body, token)
        assert status == 422, answer
        assert answer["reasons"]
    assert admin.config.read_bytes() == before
    assert admin.control.calls == []


async def test_a_reload_the_daemon_refuses_is_a_409_with_its_reasons(admin: Admin) -> None:
    token = await admin.token()
    admin.control.reload_ok = False
    status, body, _ = await admin.call("POST", f"{PREFIX}/reload", {"reason": "x"}, token)
    assert status == 409
    assert body["reload"]["reasons"] == ["rules.max_contracts.limit: refused"]
    assert admin.store.audit_log()[0].detail["reload_ok"] is False


async def test_without_a_control_acts_answer_503_and_change_no_file(admin: Admin) -> None:
    admin.surface.control = None
    token = await admin.token()
    body = {"rule": "daily_net_loss", "key": "limit", "value": 800}
    status, answer, _ = await admin.call("POST", f"{PREFIX}/rules", body, token)
    assert status == 503, answer
    assert admin.config.read_text(encoding="utf-8") == CONFIG


async def test_accounts_and_locks_lists(admin: Admin) -> None:
    token = await admin.token()
    status, accounts, _ = await admin.call("GET", f"{PREFIX}/accounts", token=token)
    assert status == 200
    assert accounts["listed"] == [
        {"id": 1001, "name": "50K combine", "enabled": True, "overrides": []}
    ]
    assert len(accounts["monitored"]) == 2
    status, locks, _ = await admin.call("GET", f"{PREFIX}/locks", token=token)
    assert status == 200
    assert locks["locks"] and all("account" in lock and "id" in lock for lock in locks["locks"])
    status, _, _ = await admin.call(
        "POST", f"{PREFIX}/accounts", {"op": "disable", "account": 1001}, token
    )
    assert status == 200
    assert "    - id: 1001\n      name: 50K combine   # the small one\n      enabled: false\n" in (
        admin.config.read_text(encoding="utf-8")
    )


def _store_bytes(folder: Path) -> bytes:
    """The SQLite file and its journals, as they lie on disk."""
    return b"".join(path.read_bytes() for path in sorted(folder.glob("rm.sqlite*")))


async def test_secrets_never_leave_in_clear(
    admin: Admin, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    answers: list[str] = []
    await admin.login("wrong password!")
    token = await admin.token()
    status, body, _ = await admin.call(
        "POST", f"{PREFIX}/credentials", {"api_key": API_KEY, "reason": "rotated"}, token
    )
    answers.append(str(body))
    assert status == 200, body
    for method, path, _ in ROUTES:
        if method == "GET":
            answers.append(str((await admin.call(method, path, token=token))[1]))
    text = admin.config.read_text(encoding="utf-8")
    assert "api_key_encrypted: v1:" in text and "api_key:" not in text.replace("api_key_enc", "")
    stored = _store_bytes(tmp_path)
    for secret in (API_KEY, PASSWORD):
        assert secret not in text
        assert secret.encode() not in stored
        assert secret not in caplog.text
        assert all(secret not in answer for answer in answers)
        assert secret not in (tmp_path / "admin.pwd").read_text(encoding="ascii")
    row = next(e for e in admin.store.audit_log() if e.action == "credentials.set")
    assert row.detail["after"]["api_key"] == "set (encrypted)"


async def test_the_web_audit_view_needs_the_password_then_lists_the_rows(admin: Admin) -> None:
    playwright_api = pytest.importorskip("playwright.async_api", reason="playwright is absent")
    await admin.call(
        "POST", f"{PREFIX}/locks/clear", {"account": 1001, "reason": "calm"}, await admin.token()
    )
    async with chromium_page() as page:
        expect = playwright_api.expect
        await page.goto(admin.url + "/")
        await page.click("text=Audit")
        await expect(page.locator("#audit")).to_be_hidden()
        await page.fill("#password", "wrong password!")
        await page.click("text=Log in")
        await expect(page.locator("#login-error")).to_have_text("wrong password")
        await page.fill("#password", PASSWORD)
        await page.click("text=Log in")
        row = page.locator('tr[data-action="lock.clear"]')
        await expect(row).to_contain_text("admin@127.0.0.1")
        await expect(row).to_contain_text("calm")
        await expect(page.locator("#login")).to_be_hidden()
        assert page.errors == []


def test_a_token_lives_15_minutes_and_is_kept_only_as_its_hash() -> None:
    now = [0.0]
    tokens = TokenBook(lambda: NOW, lambda: now[0])
    token, expires_at = tokens.issue("admin@127.0.0.1")
    assert expires_at == NOW + timedelta(minutes=15)
    assert token not in repr(vars(tokens))
    now[0] = TOKEN_LIFETIME - 1
    assert tokens.who(token) == "admin@127.0.0.1"
    now[0] = TOKEN_LIFETIME
    assert tokens.who(token) is None


async def test_logout_ends_the_token(admin: Admin) -> None:
    token = await admin.token()
    status, _, _ = await admin.call("POST", f"{PREFIX}/logout", {}, token)
    assert status == 200
    status, _, _ = await admin.call("GET", f"{PREFIX}/audit", token=token)
    assert status == 401
    assert [e.action for e in admin.store.audit_log()] == ["admin.logout", "admin.login"]


async def test_concurrent_wrong_passwords_are_still_five_tries(admin: Admin) -> None:
    # An attacker firing guesses at once: each is checked against the throttle before the
    # earlier ones' (slow, argon2) verdicts are counted, unless logins take turns.
    results = await asyncio.gather(*(admin.login(f"guess-{n}") for n in range(12)))
    statuses = sorted(status for status, _ in results)
    assert statuses.count(401) == 5, statuses
    assert statuses.count(429) == 7, statuses
