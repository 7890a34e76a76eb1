"""Rich renderables for each tab of the terminal dashboard (pure: the clock is handed in)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from risk_manager.tui.state import DashboardState
from risk_manager.types import JSON

STATE_STYLE = {"ok": "green", "warning": "yellow", "breached": "bold red", "off": "dim"}
SPARKS = "▁▂▃▄▅▆▇█"


def dec(value: object) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def money(value: object, sign: bool = True) -> Text:
    d = dec(value)
    if d is None:
        return Text("unknown" if value is None else str(value), style="dim")
    style = "green" if d > 0 else "red" if d < 0 else ""
    return Text(f"{d:+,.2f}" if sign else f"{d:,.2f}", style=style if sign else "")


def countdown(ends_at: str | None, now: datetime) -> str:
    if not ends_at:
        return "until cleared"
    left = int((datetime.fromisoformat(ends_at) - now).total_seconds())
    if left <= 0:
        return "ending…"
    h, rem = divmod(left, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def status_text(a: JSON) -> Text:
    if a.get("locked"):
        return Text(" LOCKED ", style="bold white on red")
    return Text(" TRADING ", style="bold green")


def room_text(a: JSON) -> Text:
    room, limit = dec(a.get("room_to_loss_lock")), dec(a.get("loss_limit"))
    if room is None or limit is None:
        return Text("no limit", style="dim")
    share = room / limit if limit else Decimal(0)
    style = (
        "bold red" if share <= Decimal("0.1") else "yellow" if share <= Decimal("0.25") else "green"
    )
    return Text(f"{room:,.2f} of {limit:,.2f}", style=style)


def locks_table(accounts: list[JSON], now: datetime) -> RenderableType:
    rows = [(a, lock) for a in accounts for lock in a.get("locks", [])]
    if not rows:
        return Text("No active locks.", style="dim")
    t = Table(title="Locks", expand=True, title_justify="left")
    for col in ("Account", "Kind", "Rule", "Ends in", "Reason"):
        t.add_column(col, no_wrap=col != "Reason")
    for a, lock in rows:
        kind = str(lock.get("kind"))
        ends = Text(countdown(lock.get("ends_at"), now), style="bold")
        if lock.get("clearing"):  # a clearing waiting for admin.unlock_delay
            ends.append(f"\n{lock['clearing']}", style="italic yellow")
        t.add_row(
            str(a.get("name")),
            Text(kind, style="yellow" if kind == "soft" else "red"),
            str(lock.get("rule")),
            ends,
            str(lock.get("reason")),
        )
    return t


def pending_table(accounts: list[JSON]) -> RenderableType:
    """Rule changes that loosen, waiting for ``admin.loosen_delay`` (nothing when none)."""
    rows = [(a, p) for a in accounts for p in a.get("pending_loosenings", [])]
    if not rows:
        return Text("")
    t = Table(title="Pending loosenings", expand=True, title_justify="left")
    for col in ("Account", "Change"):
        t.add_column(col)
    for a, p in rows:
        t.add_row(str(a.get("name")), Text(str(p.get("text")), style="yellow"))
    return t


def overview(state: DashboardState, now: datetime) -> RenderableType:
    accounts = state.sorted_accounts()
    if not accounts:
        return Text("No accounts monitored yet.", style="dim")
    t = Table(expand=True)
    for col in ("Account", "Status", "Net P&L", "Room to lock", "Realized", "Unrealized", "Pos"):
        t.add_column(col, justify="right" if col not in ("Account", "Status") else "left")
    for a in accounts:
        pnl = a.get("pnl", {})
        t.add_row(
            f"{a.get('name')} #{a.get('id')}",
            status_text(a),
            money(pnl.get("net")),
            room_text(a),
            money(pnl.get("day_realized")),
            money(pnl.get("unrealized")),
            str(sum(int(p.get("size", 0)) for p in a.get("positions", []))),
        )
    return Group(t, drawdown_table(accounts), locks_table(accounts, now), pending_table(accounts))


def drawdown_table(accounts: list[JSON]) -> RenderableType:
    """RULE-016 per account: its own starting balance, peak and floor."""
    rows = [a for a in accounts if a.get("trailing_drawdown")]
    if not rows:
        return Text("")
    t = Table(title="Trailing drawdown (RULE-016)", expand=True, title_justify="left")
    for col in ("Account", "Starting balance", "Peak", "Floor"):
        t.add_column(col, justify="left" if col == "Account" else "right")
    for a in rows:
        d = a["trailing_drawdown"]
        source = "" if d.get("start_source") == "config" else " (first seen)"
        t.add_row(
            f"{a.get('name')} #{a.get('id')}",
            Text.assemble(money(d.get("starting_balance"), sign=False), source),
            money(d.get("peak"), sign=False),
            money(d.get("floor"), sign=False),
        )
    return t


def sparkline(curve: list[JSON], width: int = 60) -> str:
    values = [v for v in (dec(p.get("net")) for p in curve) if v is not None]
    if not values:
        return "no P&L yet today"
    if len(values) > width:  # keep the last point of each bucket
        values = [
            values[min(len(values) - 1, (i + 1) * len(values) // width - 1)] for i in range(width)
        ]
    lo, hi = min(values), max(values)
    span = hi - lo or Decimal(1)
    return "".join(SPARKS[int((v - lo) / span * (len(SPARKS) - 1))] for v in values)


def pnl(state: DashboardState, now: datetime) -> RenderableType:
    panels: list[RenderableType] = []
    for a in state.sorted_accounts():
        p = a.get("pnl", {})
        grid = Table.grid(padding=(0, 2))
        grid.add_column(style="dim")
        grid.add_column(justify="right")
        grid.add_row("Net P&L today", money(p.get("net")))
        grid.add_row("Realized (day)", money(p.get("day_realized")))
        grid.add_row("Unrealized", money(p.get("unrealized")))
        grid.add_row("Realized (week)", money(p.get("week_realized")))
        grid.add_row("Day peak (net)", money(p.get("day_peak_net")))
        limit = dec(a.get("loss_limit"))
        grid.add_row("Loss limit", Text(f"-{limit:,.2f}" if limit is not None else "none"))
        grid.add_row("Room to lock", room_text(a))
        curve = sparkline(a.get("pnl_curve", []))
        style = "red" if (dec(p.get("net")) or 0) < 0 else "green"
        body = Group(grid, Text(""), Text(curve, style=style))
        title = Text.assemble(status_text(a), f" {a.get('name')} #{a.get('id')}")
        panels.append(Panel(body, title=title, title_align="left", border_style=style))
    return Group(*panels) if panels else Text("No accounts monitored yet.", style="dim")


def positions(state: DashboardState) -> RenderableType:
    pos = Table(title="Positions", expand=True, title_justify="left")
    for col in ("Account", "Symbol", "Side", "Size", "Avg", "Mark", "Unrealized"):
        pos.add_column(
            col, justify="right" if col in ("Size", "Avg", "Mark", "Unrealized") else "left"
        )
    orders = Table(title="Working orders", expand=True, title_justify="left")
    for col in ("Account", "Symbol", "Side", "Type", "Size", "Price", "Status", "By"):
        orders.add_column(col, justify="right" if col in ("Size", "Price") else "left")
    for a in state.sorted_accounts():
        for p in a.get("positions", []):
            side = str(p.get("side"))
            pos.add_row(
                str(a.get("name")), str(p.get("symbol")),
                Text(side, style="green" if side == "long" else "red"),
                str(p.get("size")), str(p.get("average_price")), _mark(p),
                money(p.get("unrealized")),
            )  # fmt: skip
        for o in a.get("orders", []):
            orders.add_row(
                str(a.get("name")), str(o.get("symbol")), str(o.get("side")), str(o.get("type")),
                str(o.get("size")), str(o.get("price") or "mkt"), str(o.get("status")),
                "risk-manager" if o.get("ours") else "trader",
            )  # fmt: skip
    return Group(pos, Text(""), orders)


def rules(state: DashboardState, now: datetime) -> RenderableType:
    parts: list[RenderableType] = []
    for a in state.sorted_accounts():
        t = Table(title=f"{a.get('name')} #{a.get('id')}", expand=True, title_justify="left")
        for col in ("Id", "Rule", "State", "Value", "Limit", "Detail"):
            t.add_column(col, justify="right" if col in ("Value", "Limit") else "left")
        for r in a.get("rules", []):
            state_name = str(r.get("state"))
            t.add_row(
                str(r.get("id")), str(r.get("key")),
                Text(state_name, style=STATE_STYLE.get(state_name, "")),
                str(r.get("value") if r.get("value") is not None else "—"),
                str(r.get("limit") if r.get("limit") is not None else "—"),
                str(r.get("detail") or ""),
            )  # fmt: skip
        parts.append(t)
    parts.append(locks_table(state.sorted_accounts(), now))
    parts.append(pending_table(state.sorted_accounts()))
    return Group(*parts)


def log(state: DashboardState) -> RenderableType:
    if not state.log:
        return Text("Nothing enforced yet.", style="dim")
    names = {k: str(v.get("name")) for k, v in state.accounts.items()}
    t = Table(expand=True)
    for col in ("Time (UTC)", "Account", "Rule", "Action", "Outcome", "Reason"):
        t.add_column(col, no_wrap=col != "Reason")
    for e in state.log:
        outcome = str(e.get("outcome"))
        account = names.get(int(e.get("account_id", 0)), str(e.get("account_id")))
        t.add_row(
            str(e.get("at", ""))[11:19], account,
            str(e.get("rule")), str(e.get("kind")),
            Text(outcome, style="red" if outcome == "failed" else ""), str(e.get("reason")),
        )  # fmt: skip
    return t


def _mark(position: JSON) -> str:
    """The mark, labelled when a REST bar close stands in for a live quote (RULES.md §1)."""
    mark = position.get("mark")
    if mark is None:
        return "—"
    return f"{mark} (REST bar)" if position.get("mark_source") == "rest_bar" else str(mark)
