"""Rich renderables for each tab of the terminal dashboard (pure: the clock is handed in).

Every time is shown in the trading day's zone (the daemon's ``time_zone``), labelled ("CT")."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from risk_manager.tui.state import DashboardState
from risk_manager.types import JSON

STATE_STYLE = {
    "ok": "green",
    "warning": "yellow",
    "breached": "bold red",
    "unknown": "bold magenta",  # an input is missing: never shown as ok
    "off": "dim",
}
PROBLEM_TITLE = {
    "refused": "REFUSED",
    "escalated": "FAILED",
    "stale_mark": "STALE MARK",
    "hub": "HUB DOWN",
}
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


def zone_of(state: DashboardState) -> tuple[ZoneInfo, str]:
    """The trading day's zone and its label, as the daemon's views give them (Chicago, "CT"
    before any view)."""
    for a in state.accounts.values():
        name = a.get("time_zone")
        if name:
            return ZoneInfo(str(name)), str(a.get("time_zone_label") or name)
    return ZoneInfo("America/Chicago"), "CT"


def clock(when: str | datetime | None, zone: ZoneInfo, seconds: bool = True) -> str:
    """An instant as ``14:03:07`` (or ``14:03``) in ``zone``; "" for None."""
    if when is None or when == "":
        return ""
    at = datetime.fromisoformat(when) if isinstance(when, str) else when
    return at.astimezone(zone).strftime("%H:%M:%S" if seconds else "%H:%M")


def duration(seconds: int) -> str:
    """A length of time that cannot be read as a clock: ``17 h 48 m``, ``4 m 05 s``, ``12 s``."""
    h, rem = divmod(max(0, seconds), 3600)
    m, s = divmod(rem, 60)
    if h:
        return f"{h} h {m:02d} m"
    return f"{m} m {s:02d} s" if m else f"{s} s"


def countdown(
    ends_at: str | None, now: datetime, zone: ZoneInfo | None = None, label: str = "CT"
) -> str:
    """``ends in 17 h 48 m · at 17:00 CT`` (``at Mon 17:00 CT`` on another day in ``zone``)."""
    if not ends_at:
        return "until cleared"
    zone = zone or ZoneInfo("America/Chicago")
    end = datetime.fromisoformat(ends_at)
    left = int((end - now).total_seconds())
    if left <= 0:
        return "ending…"
    local, today = end.astimezone(zone), now.astimezone(zone)
    day = "" if local.date() == today.date() else f"{local:%a} "
    return f"ends in {duration(left)} · at {day}{local:%H:%M} {label}"


def status_text(a: JSON) -> Text:
    if a.get("locked"):
        return Text(" LOCKED ", style="bold white on red")
    return Text(" TRADING ", style="bold green")


def room_text(a: JSON) -> Text:
    """The room before the nearest loss lock against that rule's limit; "unknown" (never
    "no limit") when a loss rule on cannot be evaluated."""
    if a.get("room_unknown"):
        return Text("unknown", style="bold magenta")
    room = dec(a.get("room_to_loss_lock"))
    limit = dec(a.get("room_limit") if a.get("room_limit") is not None else a.get("loss_limit"))
    if room is None or limit is None:
        return Text("no loss limit on", style="dim")
    if room <= 0:  # the daemon clamps it at 0: none left, the lock says why
        return Text("none — locked" if a.get("locked") else "none", style="bold red")
    share = room / limit if limit else Decimal(0)
    style = (
        "bold red" if share <= Decimal("0.1") else "yellow" if share <= Decimal("0.25") else "green"
    )
    return Text(f"{room:,.2f} of {limit:,.2f}", style=style)


def nearest_lock(a: JSON) -> JSON | None:
    """The account's lock that ends first (one until cleared last), or None."""
    locks: list[JSON] = list(a.get("locks", []))
    if not locks:
        return None
    return min(locks, key=lambda lock: (lock.get("ends_at") is None, str(lock.get("ends_at"))))


def problems(a: JSON, health: JSON | None) -> list[tuple[str, str]]:
    """What is wrong on the account until resolved (the daemon's view), and a hub outage (its
    health): ``(kind, text)``."""
    out = [(str(p.get("kind")), str(p.get("text"))) for p in a.get("problems", [])]
    hubs = (health or {}).get("hubs") or {}
    down = [k for k in ("user", "market") if not (hubs.get(k) or {}).get("connected", True)]
    if down:
        what = (health or {}).get("problem") or "events may be missing"
        out.append(("hub", f"{' and '.join(down)} hub down: {what}"))
    return out


def summary(state: DashboardState, now: datetime, limit: int = 4) -> RenderableType:
    """The header's accounts, locked first then the least room: per account the lock state,
    net P&L, room and the nearest lock's countdown (what must be seen at 80×24), then each
    problem. At most ``limit`` accounts; the Overview tab has them all."""
    zone, label = zone_of(state)
    accounts = sorted(
        state.accounts.values(),
        key=lambda a: (not a.get("locked"), dec(a.get("room_to_loss_lock")) or Decimal("1e18")),
    )
    lines: list[RenderableType] = []
    for a in accounts[:limit]:
        pnl = a.get("pnl", {})
        line = Text.assemble(status_text(a), "  net ", money(pnl.get("net")), "  room ")
        line.append_text(room_text(a))
        line.append(f"  {a.get('name')}", style="dim")
        line.no_wrap, line.overflow = True, "ellipsis"
        lines.append(line)
        lock = nearest_lock(a)
        if lock is not None:
            more = len(a.get("locks", [])) - 1
            when = countdown(lock.get("ends_at"), now, zone, label)
            text = Text.assemble("  └ ", (when, "bold"), f"  {lock.get('rule')}")
            if more:
                text.append(f" (+{more} more)", style="dim")
            text.no_wrap, text.overflow = True, "ellipsis"
            lines.append(text)
        for kind, what in problems(a, state.health):
            text = Text.assemble("  ! ", (PROBLEM_TITLE.get(kind, kind), "bold red"), f" {what}")
            text.no_wrap, text.overflow = True, "ellipsis"
            lines.append(text)
    if len(accounts) > limit:
        lines.append(Text(f"  +{len(accounts) - limit} more accounts: Overview tab", style="dim"))
    return Group(*lines)


def locks_table(
    accounts: list[JSON], now: datetime, zone: ZoneInfo | None = None, label: str = "CT"
) -> RenderableType:
    rows = [(a, lock) for a in accounts for lock in a.get("locks", [])]
    if not rows:
        return Text("No active locks.", style="dim")
    t = Table(title="Locks", expand=True, title_justify="left")
    t.add_column("Account", ratio=1, overflow="ellipsis", no_wrap=True)
    t.add_column("Rule / reason", ratio=3)
    t.add_column("Ends", no_wrap=True)
    for a, lock in rows:
        kind = str(lock.get("kind"))
        what = Text.assemble(
            (str(lock.get("rule")), "yellow" if kind == "soft" else "red"),
            f" ({kind})\n",
            (str(lock.get("reason")), "dim"),
        )
        if lock.get("clearing_at"):  # an admin clearing is pending
            when = clock(str(lock["clearing_at"]), zone or ZoneInfo("America/Chicago"), False)
            what.append(f"\nadmin clearing at {when} {label}", style="yellow")
        t.add_row(
            str(a.get("name")),
            what,
            Text(countdown(lock.get("ends_at"), now, zone, label), style="bold"),
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
    zone, label = zone_of(state)
    return Group(
        t,
        drawdown_table(accounts),
        locks_table(accounts, now, zone, label),
        pending_table(accounts),
    )


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


def with_live(account: JSON) -> list[JSON]:
    """The account's P&L curve, then its view's own net at the view's time (``as_of``): the
    curve is streamed only when it gains a point (docs/API.md "Stream")."""
    curve: list[JSON] = list(account.get("pnl_curve") or [])
    net, at = (account.get("pnl") or {}).get("net"), _instant(account.get("as_of"))
    last = _instant(curve[-1].get("at")) if curve else None
    if net is None or at is None or (last is not None and at <= last):
        return curve  # compared as instants: "…:50.2Z" sorts before "…:50Z" as text
    return [*curve, {"at": account["as_of"], "net": net}]


def _instant(value: object) -> datetime | None:
    """An ISO-8601 instant of the API (``…Z``), or None when it is not one."""
    if not isinstance(value, str):
        return None
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return None
    return at if at.tzinfo is not None else None


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
        curve = sparkline(with_live(a))
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
            unknown = state_name == "unknown" and r.get("reason")
            t.add_row(
                str(r.get("id")), str(r.get("key")),
                Text(state_name, style=STATE_STYLE.get(state_name, "")),
                str(r.get("value") if r.get("value") is not None else "—"),
                str(r.get("limit") if r.get("limit") is not None else "—"),
                Text(f"cannot be evaluated: {r['reason']}", style="magenta") if unknown
                else str(r.get("detail") or ""),
            )  # fmt: skip
        parts.append(t)
    zone, label = zone_of(state)
    parts.append(locks_table(state.sorted_accounts(), now, zone, label))
    parts.append(pending_table(state.sorted_accounts()))
    return Group(*parts)


def log(state: DashboardState, width: int = 160) -> RenderableType:
    """The enforcement log, newest first, times in the trading day's zone (labelled). Under
    120 columns each entry's reason goes on a line of its own instead of a squeezed column."""
    if not state.log:
        return Text("Nothing enforced yet.", style="dim")
    zone, label = zone_of(state)
    names = {k: str(v.get("name")) for k, v in state.accounts.items()}
    wide = width >= 120
    t = Table(expand=True)
    t.add_column(f"Time ({label})", no_wrap=True, min_width=8)
    if wide:
        t.add_column("Account", no_wrap=True)
    t.add_column("Rule · action" if wide else "Entry", ratio=1)
    t.add_column("Outcome", no_wrap=True, min_width=9)
    if wide:
        t.add_column("Reason", ratio=1)
    for e in state.log:
        outcome = str(e.get("outcome"))
        account = names.get(int(e.get("account_id", 0)), str(e.get("account_id")))
        what = Text(f"{e.get('rule')} · {e.get('kind')}")
        row: list[RenderableType] = [clock(e.get("at"), zone)]
        if wide:
            row.append(account)
        else:  # one column: the account, then the reason on lines of their own
            what = Text.assemble((account, "dim"), "\n", what, (f"\n{e.get('reason')}", "dim"))
        row += [what, Text(outcome, style="red" if outcome == "failed" else "")]
        if wide:
            row.append(str(e.get("reason")))
        t.add_row(*row)
    return t


def history(data: JSON | None, zone: ZoneInfo, label: str) -> RenderableType:
    """Past trading days (``GET /api/v1/history``): per day and account the realized P&L,
    fees, fills and the locks with their reasons and who ended them; then the ended locks."""
    if data is None:
        return Text("History not read yet.", style="dim")
    t = Table(title=f"History (times {label})", expand=True, title_justify="left")
    t.add_column("Day", no_wrap=True)
    t.add_column("Account", overflow="ellipsis", no_wrap=True, ratio=1)
    t.add_column("Realized", justify="right", no_wrap=True)
    t.add_column("Fees", justify="right", no_wrap=True)
    t.add_column("Fills", justify="right", no_wrap=True)
    t.add_column("Locks", ratio=3)
    for day in data.get("days", []):
        for i, a in enumerate(day.get("accounts", [])):
            locks = Text()
            for lock in a.get("locks", []):
                if locks.plain:
                    locks.append("\n")
                locks.append(str(lock.get("rule")), style="bold")
                locks.append(f" {_ended(lock, zone, label)}\n")
                locks.append(str(lock.get("reason")), style="dim")
            t.add_row(
                "" if i else str(day.get("trading_day")), str(a.get("name")),
                money(a.get("realized")), money(a.get("fees"), sign=False), str(a.get("fills")),
                locks if locks.plain else Text("none", style="dim"),
            )  # fmt: skip
    if not data.get("days"):
        return Text("No trading recorded in the last days.", style="dim")
    return t


def _ended(lock: JSON, zone: ZoneInfo, label: str) -> str:
    if lock.get("active"):
        return "(still active)"
    when = clock(lock.get("ended_at"), zone, seconds=False)
    if lock.get("ended_by"):
        why = f": {lock['clear_reason']}" if lock.get("clear_reason") else ""
        return f"(cleared by {lock['ended_by']} at {when} {label}{why})"
    return f"(ended by its time at {when} {label})"


def _mark(position: JSON) -> str:
    """The mark, labelled when a REST bar close stands in for a live quote (RULES.md §1)."""
    mark = position.get("mark")
    if mark is None:
        return "—"
    return f"{mark} (REST bar)" if position.get("mark_source") == "rest_bar" else str(mark)
