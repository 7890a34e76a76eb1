"""An alert in words for people (docs/ALERTS.md "Bodies"): the line a Slack or Discord message,
an email's subject and a desktop notification carry, and the webhook bodies per format.

An alert's JSON (``action_to_dict``, plus its ``id``) is the input everywhere: the webhook's
outbox keeps it, the other channels build it when they send."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

WebhookFormat = Literal["generic", "slack", "discord"]
DAEMON = 0  # the account id of the daemon's own alerts (a hub down, the disk, a crash)
DISCORD_MAX = 2000  # characters Discord takes in a message's content


def who(body: Mapping[str, Any]) -> str:
    """``account 12345`` or, for the daemon's own alerts, ``risk-manager``."""
    account = body.get("account_id")
    return "risk-manager" if account in (None, DAEMON) else f"account {account}"


def headline(body: Mapping[str, Any]) -> str:
    """``CRITICAL account 12345 daily_net_loss``: severity, whose, which rule."""
    return f"{str(body.get('severity', 'info')).upper()} {who(body)} {body.get('rule', '?')}"


def summary(body: Mapping[str, Any]) -> str:
    """The headline and the reason on one line."""
    return f"{headline(body)}: {body.get('reason', '')}"


def webhook_body(fmt: WebhookFormat, body: Mapping[str, Any]) -> dict[str, Any]:
    """What is posted: the alert's JSON as is (``generic``: ``id`` lets the receiver drop a
    repeat), a Slack incoming-webhook message (``text``) or a Discord one (``content``, cut at
    Discord's 2000 characters)."""
    match fmt:
        case "generic":
            return dict(body)
        case "slack":
            return {"text": f"*{headline(body)}*: {body.get('reason', '')}"}
        case "discord":
            text = f"**{headline(body)}**: {body.get('reason', '')}"
            if len(text) > DISCORD_MAX:
                text = text[: DISCORD_MAX - 1] + "…"
            return {"content": text}
