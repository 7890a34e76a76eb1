"""``risk-manager admin ...``: the admin's commands (docs/ADMIN.md), and with no command an
interactive numbered menu reaching each one (``cli/admin_menu.py``).

Commands that change the running daemon go through its admin API (logged in with the admin
password); with the daemon stopped, config edits are made on the file and audited in the
store directly. Exit codes: 0 done, 2 a mistake (bad argument, refused change, wrong
password), 1 the daemon or the gateway could not do it.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.panel import Panel
from rich.table import Table

from risk_manager.admin.config_edit import Edit, EditRefused, parse_value
from risk_manager.admin.connection_check import check_connection
from risk_manager.admin.password import PasswordRefused
from risk_manager.cli.admin_session import FAILED, AdminFailure, AdminSession
from risk_manager.config.errors import ConfigError
from risk_manager.config.loader import load_config
from risk_manager.config.rules import RULE_KEYS
from risk_manager.domain.errors import RiskManagerError
from risk_manager.store.holder import hold_store
from risk_manager.store.store import Store
from risk_manager.types import JSON, utc_now

T = TypeVar("T")
console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)

admin_app = typer.Typer(
    name="admin",
    help="Administer the guard: accounts, credentials, rules, locks, resets, audit, password. "
    "Without a command: an interactive menu.",
    invoke_without_command=True,
)
accounts_app = typer.Typer(help="List, add, remove, enable or disable guarded accounts.")
credentials_app = typer.Typer(help="Store the gateway API key encrypted.")
rules_app = typer.Typer(help="Show or change rule settings.")
locks_app = typer.Typer(help="List or clear locks.")
admin_app.add_typer(accounts_app, name="accounts")
admin_app.add_typer(credentials_app, name="credentials")
admin_app.add_typer(rules_app, name="rules")
admin_app.add_typer(locks_app, name="locks")

Reason = Annotated[str, typer.Option("--reason", "-r", help="Why (kept in the audit log).")]
AccountOpt = Annotated[
    int | None, typer.Option("--account", "-a", help="An account's override (accounts.list).")
]


def _ask_hidden(prompt: str) -> str:
    return str(typer.prompt(prompt, hide_input=True))


def _session(ctx: typer.Context) -> AdminSession:
    session = ctx.obj
    assert isinstance(session, AdminSession)
    return session


def fail(exc: AdminFailure) -> typer.Exit:
    """Print the failure (and its reasons) in red; the exit to raise."""
    errors.print(f"[bold red]error:[/] {exc}")
    for reason in exc.reasons:
        errors.print(f"  [red]•[/] {reason}")
    return typer.Exit(exc.code)


def ensure_password(session: AdminSession) -> None:
    """The first admin command sets the admin password (asked twice, hidden)."""
    if session.password.is_set():
        return
    console.print(
        Panel(
            "No admin password is set yet. Choose one (8 characters or more): it is asked for "
            "every change the running daemon makes.",
            title="Admin password",
            border_style="yellow",
        )
    )
    _set_password(session, first=True)


def _set_password(session: AdminSession, *, first: bool) -> None:
    new = str(typer.prompt("New admin password", hide_input=True, confirmation_prompt=True))
    try:
        session.password.set(new)
    except PasswordRefused as exc:
        raise AdminFailure(str(exc)) from None
    action = "admin.password_set" if first else "admin.password_changed"
    session.audit_locally(action, beside_daemon=True)
    console.print(
        f"[green]✓[/] admin password {'set' if first else 'changed'} ({session.password.path})"
    )


@admin_app.callback()
def admin_main(
    ctx: typer.Context,
    config: Annotated[
        Path,
        typer.Option("--config", "-c", envvar="RISK_MANAGER_CONFIG", help="The YAML config file."),
    ],
) -> None:
    """Administer the guard: accounts, credentials, rules, locks, resets, audit, password."""
    session = AdminSession(config, _ask_hidden)
    ctx.obj = session
    if ctx.invoked_subcommand is None:
        from risk_manager.cli.admin_menu import run_menu

        _run(ctx, lambda: run_menu(session))


def _run(ctx: typer.Context, action: Callable[[], T], *, first_use: bool = True) -> T:
    """Run a command's ``action`` after the first-use password set-up (``first_use``); an
    :class:`AdminFailure` (or an unusable store) becomes its message and exit code."""
    try:
        if first_use:
            ensure_password(_session(ctx))
        return action()
    except AdminFailure as exc:
        raise fail(exc) from None
    except RiskManagerError as exc:  # the store held by a daemon whose API is silent, say
        raise fail(AdminFailure(str(exc), FAILED)) from None


# -- accounts --------------------------------------------------------------------------------


def accounts_list(session: AdminSession) -> None:
    """Print the listed accounts (and, with the daemon running, those it guards)."""
    config = session.config
    table = Table(title=f"accounts (mode: {config.accounts.mode})", title_justify="left")
    for column in ("id", "name", "enabled", "overrides"):
        table.add_column(column)
    for entry in config.accounts.list:
        table.add_row(
            str(entry.id),
            entry.name or "",
            "[green]yes[/]" if entry.enabled else "[red]no[/]",
            ", ".join(sorted(entry.rules)),
        )
    console.print(table)
    if session.daemon_running():
        monitored = session.api("GET", "accounts")["monitored"]
        guarded = ", ".join(f"{a['id']} ({a.get('name') or ''})" for a in monitored)
        console.print(f"guarded now: {guarded or 'none'}")
    else:
        console.print("[dim]the daemon is not running[/]")


def edit_config(session: AdminSession, local: Any, api_path: str, body: JSON, reason: str) -> None:
    """A config edit: through the running daemon's API (file edit, then reload), or on the
    file directly (audited) when it is stopped."""
    if session.daemon_running():
        answer = session.api("POST", api_path, {**body, "reason": reason})
        edit = answer["edit"]
        effective = answer["reload"]["effective_at"]
        console.print(
            f"[green]✓[/] {edit['target']}: {edit['before']!r} → {edit['after']!r} "
            f"(in force {effective})"
        )
        return
    done: Edit = session.local_edit(local, reason)
    console.print(
        f"[green]✓[/] {done.target}: {done.before!r} → {done.after!r} "
        "(the daemon is stopped: in force at its next start)"
    )


@accounts_app.command("list")
def _accounts_list(ctx: typer.Context) -> None:
    """List the accounts."""
    _run(ctx, lambda: accounts_list(_session(ctx)))


@accounts_app.command("add")
def _accounts_add(
    ctx: typer.Context,
    account: int,
    name: Annotated[str | None, typer.Option("--name", help="A label.")] = None,
    reason: Reason = "",
) -> None:
    """List ACCOUNT under accounts.list (guarded)."""
    body = {"op": "add", "account": account, "name": name}
    _run(
        ctx,
        lambda: edit_config(
            _session(ctx), lambda f: f.add_account(account, name), "accounts", body, reason
        ),
    )


@accounts_app.command("remove")
def _accounts_remove(ctx: typer.Context, account: int, reason: Reason = "") -> None:
    """Take ACCOUNT (and its overrides) off accounts.list."""
    body = {"op": "remove", "account": account}
    _run(
        ctx,
        lambda: edit_config(
            _session(ctx), lambda f: f.remove_account(account), "accounts", body, reason
        ),
    )


@accounts_app.command("enable")
def _accounts_enable(ctx: typer.Context, account: int, reason: Reason = "") -> None:
    """Guard a listed ACCOUNT again."""
    body = {"op": "enable", "account": account}
    _run(
        ctx,
        lambda: edit_config(
            _session(ctx),
            lambda f: f.set_account_enabled(account, True),
            "accounts",
            body,
            reason,
        ),
    )


@accounts_app.command("disable")
def _accounts_disable(ctx: typer.Context, account: int, reason: Reason = "") -> None:
    """Stop guarding a listed ACCOUNT (it stays listed, with its overrides)."""
    body = {"op": "disable", "account": account}
    _run(
        ctx,
        lambda: edit_config(
            _session(ctx),
            lambda f: f.set_account_enabled(account, False),
            "accounts",
            body,
            reason,
        ),
    )


# -- credentials -------------------------------------------------------------------------------


def credentials_set(session: AdminSession, username: str | None, reason: str) -> None:
    """Ask the API key (hidden, twice) and store it sealed (AES-GCM)."""
    api_key = str(typer.prompt("Gateway API key", hide_input=True, confirmation_prompt=True))
    key_file = session.config.admin.key_file
    assert key_file is not None  # the loader fills it in
    body = {"api_key": api_key, "username": username}
    edit_config(
        session,
        lambda f: f.set_credentials(username, api_key, key_file),
        "credentials",
        body,
        reason,
    )


@credentials_app.command("set")
def _credentials_set(
    ctx: typer.Context,
    username: Annotated[str | None, typer.Option("--username", help="The gateway login.")] = None,
    reason: Reason = "",
) -> None:
    """Store the gateway API key encrypted (never printed back)."""
    _run(ctx, lambda: credentials_set(_session(ctx), username, reason))


# -- rules -------------------------------------------------------------------------------------


def rules_show(session: AdminSession, account: int | None) -> None:
    """Print each rule's effective settings (the account's, with its overrides)."""
    config = session.config
    rules = config.rules if account is None else config.rules_for(account)
    scope = "global rules" if account is None else f"rules of account {account}"
    table = Table(title=scope, title_justify="left")
    for column in ("rule", "key", "enabled", "settings"):
        table.add_column(column)
    for rule in rules.all_rules():
        table.add_row(
            rule.rule_id,
            rule.key,
            "[green]on[/]" if rule.enabled else "[dim]off[/]",
            rule.settings_text(),
        )
    console.print(table)
    if session.daemon_running():
        _print_pending(session, account)


def _print_pending(session: AdminSession, account: int | None) -> None:
    """The running daemon's loosenings still waiting for ``admin.loosen_delay``: the file
    says the new value, but the daemon enforces the old one until then (RULES.md §2)."""
    accounts = session.read("accounts").get("accounts") or []
    waiting = [
        (a.get("id"), p.get("text"))
        for a in accounts
        if account is None or a.get("id") == account
        for p in a.get("pending_loosenings") or []
    ]
    if not waiting:
        console.print("[green]The running daemon enforces these settings.[/]")
        return
    console.print("[yellow]Still enforced by the running daemon until their delay ends:[/]")
    for account_id, text in waiting:
        console.print(f"  account {account_id}: {text}")


def rules_set(
    session: AdminSession, rule: str, key: str, value: str, account: int | None, reason: str
) -> None:
    """Change one setting, validated before it is saved."""
    if rule not in RULE_KEYS:
        raise AdminFailure(f"unknown rule {rule!r}; rules are: {', '.join(RULE_KEYS)}")
    try:
        parsed = parse_value(value)
    except EditRefused as exc:
        raise AdminFailure("refused", reasons=exc.reasons) from None
    body = {"rule": rule, "key": key, "value": parsed, "account": account}
    edit_config(session, lambda f: f.set_rule(rule, key, parsed, account), "rules", body, reason)


@rules_app.command("show")
def _rules_show(ctx: typer.Context, account: AccountOpt = None) -> None:
    """Show the effective rule settings."""
    _run(ctx, lambda: rules_show(_session(ctx), account))


@rules_app.command("set")
def _rules_set(
    ctx: typer.Context,
    rule: str,
    key: str,
    value: str,
    account: AccountOpt = None,
    reason: Reason = "",
) -> None:
    """Set RULE's KEY to VALUE, read as YAML: 1000, true, 15m, [ES, NQ], "{ES: 3}"."""
    _run(ctx, lambda: rules_set(_session(ctx), rule, key, value, account, reason))


# -- locks and resets --------------------------------------------------------------------------


def locks_list(session: AdminSession) -> None:
    """Print the active locks (from the daemon, or the store when it is stopped)."""
    if session.daemon_running():
        locks = session.api("GET", "locks")["locks"]
        rows = [
            (
                lock["account"],
                lock["id"],
                lock["rule"],
                lock["kind"],
                lock.get("ends_at") or "until cleared",
                lock["reason"],
            )
            for lock in locks
        ]
    else:
        with hold_store(session.config.store.path), Store.open(session.config.store.path) as store:
            active = store.active_locks(utc_now())
        rows = [
            (
                lock.account_id,
                lock.id,
                lock.rule,
                lock.kind.value,
                lock.ends_at.isoformat() if lock.ends_at else "until cleared",
                lock.reason,
            )
            for lock in active
        ]
    table = Table(title="active locks", title_justify="left")
    for column in ("account", "lock", "rule", "kind", "ends", "reason"):
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(cell) for cell in row))
    console.print(table if rows else "[green]no active lock[/]")


def _needs_daemon(session: AdminSession, what: str) -> None:
    if not session.daemon_running():
        raise AdminFailure(
            f"{what} needs the running daemon (it enforces the change); its API at "
            f"{session.url} does not answer",
            FAILED,
        )


def locks_clear(session: AdminSession, account: int, lock: int | None, reason: str) -> None:
    """Clear one lock (or every lock) of ACCOUNT through the daemon."""
    if not reason.strip():
        raise AdminFailure("--reason is required")
    _needs_daemon(session, "clearing a lock")
    answer = session.api(
        "POST", "locks/clear", {"account": account, "lock": lock, "reason": reason}
    )
    console.print(f"[green]✓[/] {answer['summary']} (effective {answer['effective_at']})")


def reset(session: AdminSession, account: int, reason: str) -> None:
    """Run ACCOUNT's daily reset now, through the daemon."""
    if not reason.strip():
        raise AdminFailure("--reason is required")
    _needs_daemon(session, "a reset")
    answer = session.api("POST", "reset", {"account": account, "reason": reason})
    console.print(f"[green]✓[/] {answer['summary']} (effective {answer['effective_at']})")


@locks_app.command("list")
def _locks_list(ctx: typer.Context) -> None:
    """List the active locks."""
    _run(ctx, lambda: locks_list(_session(ctx)))


@locks_app.command("clear")
def _locks_clear(
    ctx: typer.Context,
    account: int,
    lock: Annotated[int | None, typer.Argument(help="One lock's id; all when left out.")] = None,
    reason: Reason = "",
) -> None:
    """Clear ACCOUNT's LOCK (or all its locks); --reason is required."""
    _run(ctx, lambda: locks_clear(_session(ctx), account, lock, reason))


@admin_app.command("reset")
def _reset(ctx: typer.Context, account: int, reason: Reason = "") -> None:
    """Run ACCOUNT's daily reset now; --reason is required."""
    _run(ctx, lambda: reset(_session(ctx), account, reason))


# -- logs, audit, connection, password ---------------------------------------------------------


def logs(session: AdminSession, lines: int, follow: bool) -> None:
    """Print the last LINES of the daemon's log file (``logging.file``); follow it."""
    path = session.config.logging.file
    if path is None:
        raise AdminFailure(
            "the daemon logs to standard error only (set logging.file to tail it here; under "
            "systemd: journalctl -u risk-manager)"
        )
    if not path.exists():
        raise AdminFailure(
            f"no log file at {path} yet (has the daemon run with logging.file?)", FAILED
        )
    with path.open(encoding="utf-8", errors="replace") as log:
        for line in deque(log, maxlen=lines):
            console.print(line.rstrip("\n"), markup=False)
        while follow:
            line = log.readline()
            if line:
                console.print(line.rstrip("\n"), markup=False)
            else:
                time.sleep(0.5)


def audit(session: AdminSession, limit: int) -> None:
    """Print the newest audit rows."""
    if session.daemon_running():
        rows = session.api("GET", f"audit?limit={limit}")["audit"]
    else:
        with hold_store(session.config.store.path), Store.open(session.config.store.path) as store:
            rows = [
                {"at": e.at.isoformat(), "actor": e.actor, "action": e.action, "detail": e.detail}
                for e in store.audit_log(limit)
            ]
    table = Table(title="audit log (newest first)", title_justify="left")
    for column in ("at", "who", "action", "reason", "before → after"):
        table.add_column(column)
    for row in rows:
        detail = row["detail"]
        change = ""
        if detail.get("before") is not None or detail.get("after") is not None:
            change = f"{detail.get('before')!r} → {detail.get('after')!r}"
        table.add_row(row["at"], row["actor"], row["action"], detail.get("reason") or "", change)
    console.print(table)


def test_connection(session: AdminSession) -> bool:
    """Run the five connection steps against the configured gateway; True when all pass."""
    try:
        config = load_config(session.path)
        steps = asyncio.run(check_connection(config.broker))
    except ConfigError as exc:
        raise AdminFailure("the config cannot be used to log in", reasons=exc.problems) from None
    table = Table(title=f"connection to {config.broker.api_url}", title_justify="left")
    for column in ("step", "verdict", "reason"):
        table.add_column(column)
    for step in steps:
        table.add_row(step.name, "[green]ok[/]" if step.ok else "[bold red]FAILED[/]", step.reason)
    console.print(table)
    return all(step.ok for step in steps)


def change_password(session: AdminSession) -> None:
    """Change the admin password (asks the old one first)."""
    if not session.password.is_set():
        ensure_password(session)
        return
    old = _ask_hidden("Current admin password")
    if not session.password.verify(old):
        session.audit_locally("admin.password_refused", beside_daemon=True)
        raise AdminFailure("wrong password")
    _set_password(session, first=False)


@admin_app.command("logs")
def _logs(
    ctx: typer.Context,
    lines: Annotated[int, typer.Option("--lines", "-n", min=1, help="How many.")] = 50,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing.")] = False,
) -> None:
    """Print the end of the daemon's log file."""
    _run(ctx, lambda: logs(_session(ctx), lines, follow))


@admin_app.command("audit")
def _audit(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, max=500)] = 50,
) -> None:
    """Print the audit log, newest first."""
    _run(ctx, lambda: audit(_session(ctx), limit))


@admin_app.command("test-connection")
def _test_connection(ctx: typer.Context) -> None:
    """Log in, connect both hubs, list the accounts, search a contract: a verdict per step."""
    if not _run(ctx, lambda: test_connection(_session(ctx))):
        raise typer.Exit(FAILED)


@admin_app.command("password")
def _password(ctx: typer.Context) -> None:
    """Set or change the admin password."""
    _run(ctx, lambda: change_password(_session(ctx)), first_use=False)
