"""The alert channels beside the log (docs/ALERTS.md): Slack and Discord webhook bodies, email
over SMTP with STARTTLS against a local aiosmtpd with a self-signed certificate, a desktop
notifier, and the per-rule, per-channel de-duplication and rate limit. Sending never waits."""

from __future__ import annotations

import asyncio
import logging
import ssl
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from pathlib import Path
from typing import Any, TypedDict

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from risk_manager.config.sections import AlertsConfig
from risk_manager.domain.actions import Alert, Severity
from risk_manager.runtime.alerts import AlertChannels
from support.polling import eventually
from support.webhook import free_port, receiver

NOW = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


class Backoff(TypedDict):
    retry_base: float
    retry_cap: float


FAST: Backoff = {"retry_base": 0.02, "retry_cap": 0.1}  # the 1 s → 60 s backoff, scaled down
PASSWORD = "smtp-pass-7f3a9c"


def alert(reason: str = "lost 500", rule: str = "daily_net_loss", **kw: Any) -> Alert:
    fields: dict[str, Any] = {"severity": Severity.CRITICAL, "account_id": 7} | kw
    return Alert(at=NOW, rule=rule, reason=reason, **fields)


# -- webhook bodies ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("slack", {"text": "*CRITICAL account 7 daily_net_loss*: lost 500"}),
        ("discord", {"content": "**CRITICAL account 7 daily_net_loss**: lost 500"}),
    ],
)
async def test_slack_and_discord_get_their_own_message_shapes(
    fmt: str, expected: dict[str, str]
) -> None:
    async with receiver() as hook:
        await hook.up()
        config = AlertsConfig.model_validate({"webhook_url": hook.url, "webhook_format": fmt})
        async with AlertChannels(config, **FAST) as channels:
            channels.send(alert())
            await eventually(lambda: channels.delivered == 1)
    assert hook.taken == [expected]


async def test_a_daemon_alert_is_said_to_be_risk_managers_and_discord_is_cut_at_2000() -> None:
    async with receiver() as hook:
        await hook.up()
        config = AlertsConfig.model_validate({"webhook_url": hook.url, "webhook_format": "discord"})
        async with AlertChannels(config, **FAST) as channels:
            channels.send(alert("x" * 5000, rule="hub_down", account_id=0))
            await eventually(lambda: channels.delivered == 1)
    (body,) = hook.taken
    assert body["content"].startswith("**CRITICAL risk-manager hub_down**: xxx")
    assert len(body["content"]) == 2000


# -- limits --------------------------------------------------------------------------------


async def test_the_same_alert_goes_out_once_and_a_rule_at_most_rate_limit_times(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    async with receiver() as hook:
        await hook.up()
        config = AlertsConfig.model_validate(
            {"webhook_url": hook.url, "rate_limit": 3, "rate_window": "10m", "dedupe": "10m"}
        )
        async with AlertChannels(config, **FAST) as channels:
            for _ in range(3):
                channels.send(alert("the same"))  # one delivery, three log lines
            for n in range(5):
                channels.send(alert(f"#{n}"))  # the rule's limit: 2 more pass
            channels.send(alert("another rule", rule="max_contracts"))  # its own limit
            await eventually(lambda: channels.delivered == 4)
            await asyncio.sleep(0.2)  # nothing else comes
    assert hook.reasons() == ["the same", "#0", "#1", "another rule"]
    logged = [r.getMessage() for r in caplog.records if r.name == "risk_manager.alerts"]
    assert sum("the same" in m for m in logged) == 3 and sum("#4" in m for m in logged) == 1
    assert any("held back" in m and "webhook" in m for m in logged)


# -- email ---------------------------------------------------------------------------------


def _text(raw: bytes) -> str:
    payload = message_from_bytes(raw).get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode()


@dataclass
class Mailbox:
    """What the local SMTP server took: messages, whether each came over TLS, the logins."""

    messages: list[bytes] = field(default_factory=list)
    over_tls: list[bool] = field(default_factory=list)
    logins: list[str] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(envelope.content)
        self.over_tls.append(session.ssl is not None)
        return "250 OK"


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return path


class Smtp:
    """A local SMTP server (aiosmtpd) that requires STARTTLS with a certificate for 127.0.0.1
    signed by the test's own CA, and a login once encrypted."""

    def __init__(self, ca: trustme.CA) -> None:
        self.port = free_port()
        self.box = Mailbox()
        self._tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1").configure_cert(self._tls)
        self._controller: Controller | None = None

    def _login(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
        ok = isinstance(data, LoginPassword) and data.password.decode() == PASSWORD
        if ok:
            self.box.logins.append(data.login.decode())
        return AuthResult(success=ok)

    def up(self) -> None:
        self._controller = Controller(
            self.box,
            hostname="127.0.0.1",
            port=self.port,
            tls_context=self._tls,
            require_starttls=True,
            auth_require_tls=True,
            authenticator=self._login,
        )
        self._controller.start()

    def down(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None


@pytest.fixture
def smtp(ca: trustme.CA) -> Iterator[Smtp]:
    server = Smtp(ca)
    yield server
    server.down()


def email_config(smtp: Smtp, ca_file: Path, **more: Any) -> AlertsConfig:
    email = {
        "host": "127.0.0.1",
        "port": smtp.port,
        "username": "guard",
        "password": PASSWORD,
        "sender": "guard@example.com",
        "to": ["trader@example.com", "ops@example.com"],
        "ca_file": str(ca_file),
        "timeout": 5,
    }
    return AlertsConfig.model_validate({"email": email | more})


async def test_an_alert_is_mailed_over_starttls_with_a_login(
    smtp: Smtp, ca_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    smtp.up()
    async with AlertChannels(email_config(smtp, ca_file), **FAST) as channels:
        channels.send(alert("net −512.40 ≤ −500.00"))
        channels.send(alert("an info", severity=Severity.INFO))  # under min_severity: not mailed
        await eventually(lambda: len(smtp.box.messages) == 1)
    (raw,) = smtp.box.messages
    mail = message_from_bytes(raw)
    assert mail["Subject"] == "[risk-manager] CRITICAL account 7 daily_net_loss"
    assert mail["To"] == "trader@example.com, ops@example.com"
    assert "net −512.40 ≤ −500.00" in _text(raw)
    assert smtp.box.over_tls == [True] and smtp.box.logins == ["guard"]
    assert PASSWORD not in caplog.text


async def test_a_certificate_not_trusted_is_refused_and_retried_never_sent_in_clear(
    smtp: Smtp, tmp_path: Path, ca_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    smtp.up()
    other = tmp_path / "other-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(other))  # not the CA that signed the server's
    config = email_config(smtp, other)
    async with AlertChannels(config, **FAST) as channels:
        channels.send(alert())
        await eventually(lambda: "alert email failed" in caplog.text)
        (email, _), *_ = channels.others
        assert email.waiting == 1 and smtp.box.messages == []


async def test_a_dead_mail_server_never_holds_send_and_gets_the_alert_once_back(
    smtp: Smtp, ca_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async with AlertChannels(email_config(smtp, ca_file), **FAST) as channels:
        started = time.perf_counter()
        for n in range(3):
            channels.send(alert(f"#{n}"))
        assert time.perf_counter() - started < 0.5  # queued, not sent inline
        await eventually(lambda: "alert email failed" in caplog.text)
        smtp.up()
        await eventually(lambda: len(smtp.box.messages) == 3)
    bodies = [_text(m) for m in smtp.box.messages]
    assert [b.splitlines()[0] for b in bodies] == ["#0", "#1", "#2"]  # in order, once each


# -- desktop -------------------------------------------------------------------------------


def test_the_desktop_channel_is_skipped_with_the_reason_where_there_is_no_notifier(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = AlertsConfig(desktop=True)
    windows = AlertChannels(config, desktop_platform="win32")
    assert windows.desktop_skipped is not None and "win32" in windows.desktop_skipped
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")
    linux = AlertChannels(config, desktop_platform="linux")
    assert linux.desktop_skipped is not None and "notify-send" in linux.desktop_skipped
    assert windows.others == [] and linux.others == []


async def test_a_critical_alert_reaches_the_desktop_notifier(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    said = tmp_path / "said.txt"
    fake = tmp_path / "notify-send"
    fake.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" >> {said}\n', encoding="utf-8")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("DISPLAY", ":0")
    config = AlertsConfig(desktop=True)
    async with AlertChannels(config, desktop_platform="linux", **FAST) as channels:
        channels.send(alert("locked until 17:00"))
        channels.send(alert("an info", severity=Severity.INFO))  # under warning: not shown
        (desktop, _), *_ = channels.others
        await eventually(lambda: desktop.sent == 1)
    assert said.read_text().splitlines() == [
        "--app-name=risk-manager",
        "--urgency=critical",
        "CRITICAL account 7 daily_net_loss",
        "locked until 17:00",
    ]


def test_email_needs_a_recipient_and_bounds_its_timeout() -> None:
    with pytest.raises(ValueError, match="to"):
        AlertsConfig.model_validate({"email": {"host": "h", "sender": "a@b", "to": []}})
    with pytest.raises(ValueError, match="timeout"):
        AlertsConfig.model_validate(
            {"email": {"host": "h", "sender": "a@b", "to": ["c@d"], "timeout": 0}}
        )
    with pytest.raises(ValueError, match="rate_window"):
        AlertsConfig.model_validate({"rate_window": timedelta(days=30)})
