"""The email alert channel (docs/ALERTS.md "Email"): one message per alert over SMTP with
STARTTLS (or TLS from the first byte), through aiosmtplib. The server's certificate is
verified against the system's CAs and ``alerts.email.ca_file``; the password never appears in
a log line (the redaction filter has it too)."""

from __future__ import annotations

import ssl
from email.message import EmailMessage
from typing import Any

import aiosmtplib

from risk_manager.config.sections import EmailConfig
from risk_manager.runtime.alerts.text import headline, who

SUBJECT_PREFIX = "[risk-manager]"


def message(config: EmailConfig, body: dict[str, Any]) -> EmailMessage:
    """The email for one alert's JSON: the headline as subject, every field in the text."""
    mail = EmailMessage()
    mail["From"] = config.sender
    mail["To"] = ", ".join(config.to)
    mail["Subject"] = f"{SUBJECT_PREFIX} {headline(body)}"
    lines = [f"{body.get('reason', '')}", "", f"who: {who(body)}"]
    lines += [f"{key}: {value}" for key, value in body.items() if key not in ("reason",)]
    mail.set_content("\n".join(lines) + "\n")
    return mail


class EmailSender:
    """Sends one alert's JSON as an email (raises what aiosmtplib raises: refused, timed out,
    a certificate that fails verification)."""

    def __init__(self, config: EmailConfig) -> None:
        self._config = config
        self._tls = ssl.create_default_context()
        if config.ca_file is not None:
            self._tls.load_verify_locations(cafile=str(config.ca_file))

    async def __call__(self, body: dict[str, Any]) -> None:
        config = self._config
        password = config.password.get_secret_value() if config.password else None
        await aiosmtplib.send(
            message(config, body),
            hostname=config.host,
            port=config.port,
            username=config.username,
            password=password,
            start_tls=config.security == "starttls",
            use_tls=config.security == "tls",
            tls_context=self._tls,
            timeout=config.timeout,
        )
