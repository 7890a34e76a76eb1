"""The interactive admin menu (``risk-manager admin`` with no command): a numbered list
reaching every admin command, its arguments asked one by one (rich prompts). A failed
command prints its error and the menu comes back; ``q`` (or end of input) leaves."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rich.prompt import IntPrompt, Prompt
from rich.table import Table

from risk_manager.admin.config_edit import ConfigFile, Edit
from risk_manager.cli import admin as commands
from risk_manager.cli.admin_session import AdminFailure, AdminSession
from risk_manager.config.rules import RULE_KEYS


@dataclass(frozen=True)
class Item:
    label: str  # the command line it stands for
    run: Callable[[AdminSession], object]


def _optional_int(prompt: str) -> int | None:
    text = Prompt.ask(f"{prompt} [dim](empty: none)[/]", default="", show_default=False)
    if not text.strip():
        return None
    if not text.strip().isdigit():
        raise AdminFailure(f"{prompt}: a whole number, got {text!r}")
    return int(text)


def _account() -> int:
    return IntPrompt.ask("Account id")


def _reason(required: bool = False) -> str:
    reason = Prompt.ask(
        "Reason" + ("" if required else " [dim](optional)[/]"), default="", show_default=False
    )
    if required and not reason.strip():
        raise AdminFailure("a reason is required")
    return reason


def _accounts_edit(session: AdminSession, op: str) -> None:
    account = _account()
    name = None
    if op == "add":
        name = Prompt.ask("Name [dim](optional)[/]", default="", show_default=False) or None
    reason = _reason()
    local: Callable[[ConfigFile], Edit] = {
        "add": lambda f: f.add_account(account, name),
        "remove": lambda f: f.remove_account(account),
        "enable": lambda f: f.set_account_enabled(account, True),
        "disable": lambda f: f.set_account_enabled(account, False),
    }[op]
    commands.edit_config(
        session, local, "accounts", {"op": op, "account": account, "name": name}, reason
    )


def _rules_set(session: AdminSession) -> None:
    rule = Prompt.ask("Rule", choices=list(RULE_KEYS), show_choices=False)
    key = Prompt.ask("Setting (e.g. limit, enabled, warn_at)")
    value = Prompt.ask("Value (YAML: 1000, true, 15m)")
    account = _optional_int("Account id for an override")
    commands.rules_set(session, rule, key, value, account, _reason())


ITEMS: list[Item] = [
    Item("accounts list", commands.accounts_list),
    Item("accounts add", lambda s: _accounts_edit(s, "add")),
    Item("accounts remove", lambda s: _accounts_edit(s, "remove")),
    Item("accounts enable", lambda s: _accounts_edit(s, "enable")),
    Item("accounts disable", lambda s: _accounts_edit(s, "disable")),
    Item(
        "credentials set",
        lambda s: commands.credentials_set(
            s,
            Prompt.ask("Gateway username [dim](empty: keep)[/]", default="", show_default=False)
            or None,
            _reason(),
        ),
    ),
    Item("rules show", lambda s: commands.rules_show(s, _optional_int("Account id"))),
    Item("rules set", _rules_set),
    Item("locks list", commands.locks_list),
    Item(
        "locks clear",
        lambda s: commands.locks_clear(
            s, _account(), _optional_int("Lock id (empty: all)"), _reason(True)
        ),
    ),
    Item("reset", lambda s: commands.reset(s, _account(), _reason(True))),
    Item("logs", lambda s: commands.logs(s, 50, False)),
    Item("test-connection", commands.test_connection),
    Item("audit", lambda s: commands.audit(s, 50)),
    Item("password", commands.change_password),
]


def _menu() -> Table:
    table = Table(title="risk-manager admin", title_justify="left", show_header=False)
    table.add_column(justify="right", style="bold cyan")
    table.add_column()
    for number, item in enumerate(ITEMS, 1):
        table.add_row(str(number), item.label)
    table.add_row("q", "quit")
    return table


def run_menu(session: AdminSession) -> None:
    """Show the menu until the admin quits; each choice runs its command."""
    choices = [str(n) for n in range(1, len(ITEMS) + 1)] + ["q"]
    while True:
        commands.console.print(_menu())
        try:
            choice = Prompt.ask("Choose", choices=choices, show_choices=False)
        except EOFError:
            return
        if choice == "q":
            return
        item = ITEMS[int(choice) - 1]
        commands.console.rule(item.label)
        try:
            item.run(session)
        except AdminFailure as exc:
            commands.errors.print(f"[bold red]error:[/] {exc}")
            for reason in exc.reasons:
                commands.errors.print(f"  [red]•[/] {reason}")
        except EOFError:
            return
