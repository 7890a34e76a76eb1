"""The Textual terminal dashboard: tabs Overview, P&L, Positions, Rules, Log.

Follows ``/api/v1/stream`` (reconnecting by itself) and re-renders once a second so lock
countdowns tick. Quitting it never affects the daemon: it is only a client of the API.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import ClassVar

from rich.console import Console, RenderableType
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.widgets import Footer, Static, TabbedContent, TabPane

from risk_manager.tui import render
from risk_manager.tui.client import DEFAULT_URL, follow_stream
from risk_manager.tui.state import CONNECTING, DashboardState
from risk_manager.types import JSON, Clock, utc_now

TABS = (
    ("overview", "Overview"),
    ("pnl", "P&L"),
    ("positions", "Positions"),
    ("rules", "Rules"),
    ("log", "Log"),
)


def _safely(build: Callable[[], RenderableType]) -> RenderableType:
    # One odd value in a view must not take the whole dashboard down.
    try:
        return build()
    except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
        return Text(f"cannot show this view: {exc!r}", style="bold red")


class DashboardApp(App[None]):
    TITLE = "risk-manager"
    CSS = """
    #conn { height: 1; padding: 0 1; }
    #tabs { height: 1fr; }
    #conn.live { background: $success-darken-3; }
    #conn.down { background: $error-darken-2; }
    TabPane { padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        ("q", "quit", "Quit"),
        *[(str(i), f"show_tab('{pane}')", title) for i, (pane, title) in enumerate(TABS, 1)],
    ]

    def __init__(self, url: str = DEFAULT_URL, *, clock: Clock = utc_now) -> None:
        super().__init__()
        self.url = url
        self.state = DashboardState()
        self._clock = clock
        self._rendered: dict[str, RenderableType] = {}

    def compose(self) -> ComposeResult:
        yield Static(id="conn")
        with TabbedContent(initial="overview", id="tabs"):
            for pane, title in TABS:
                with TabPane(title, id=pane), VerticalScroll():
                    yield Static(id=f"{pane}-body")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_views()
        self.set_interval(1.0, self.refresh_views, name="countdown-refresh")
        self.run_worker(
            follow_stream(self.url, self._stream_message, self._stream_connection),
            name="api-stream",
            exclusive=True,
        )

    def action_show_tab(self, pane: str) -> None:
        self.query_one(TabbedContent).active = pane

    @property
    def active_tab(self) -> str:
        return str(self.query_one(TabbedContent).active)

    def _stream_message(self, message: JSON) -> None:
        try:
            self.state.apply(message)
        except (KeyError, TypeError, ValueError) as exc:  # a newer or broken daemon
            self.notify(f"ignored a malformed stream message: {exc!r}", severity="warning")
            return
        self.refresh_views()

    def _stream_connection(self, connected: bool, note: str) -> None:
        self.state.set_connection(connected, note)
        self.refresh_views()

    def refresh_views(self) -> None:
        now = self._clock()
        builders: dict[str, Callable[[], RenderableType]] = {
            "conn": self._connection_line,
            "overview": lambda: render.overview(self.state, now),
            "pnl": lambda: render.pnl(self.state, now),
            "positions": lambda: render.positions(self.state),
            "rules": lambda: render.rules(self.state, now),
            "log": lambda: render.log(self.state),
        }
        self._rendered = {pane: _safely(build) for pane, build in builders.items()}
        conn = self.query_one("#conn", Static)
        conn.set_classes("live" if self.state.connected else "down")
        conn.update(self._rendered["conn"])
        for pane, _ in TABS:
            self.query_one(f"#{pane}-body", Static).update(self._rendered[pane])

    def _connection_line(self) -> Text:
        s = self.state
        if not s.connected and s.connection_note == CONNECTING:
            return Text(f"● connecting to {self.url}…", style="bold")
        if not s.connected:
            seen = "; showing the last data received" if s.accounts else ""
            return Text(f"● disconnected — retrying ({s.connection_note}){seen}", style="bold")
        locked = sum(1 for a in s.accounts.values() if a.get("locked"))
        health = s.health or {}
        line = Text("● live", style="bold")
        line.append(f"  {self.url}  daemon {health.get('status', '?')}")
        gateway = "connected" if health.get("signalr_connected") else "DISCONNECTED"
        n = len(s.accounts)
        line.append(f"  gateway {gateway}  {n} account{'' if n == 1 else 's'}  ")
        line.append(f"{locked} LOCKED" if locked else "none locked", style="bold" if locked else "")
        if health.get("problem"):  # the daemon can't guard fully: never only in the log
            line.append(f"  ⚠ {health['problem']}", style="bold red")
        return line

    def pane_text(self, pane: str, width: int = 160) -> str:
        """What a tab (or ``conn``) currently shows, as plain text (for tests and captures)."""
        out = io.StringIO()
        Console(file=out, width=width, color_system=None, legacy_windows=False).print(
            self._rendered[pane]
        )
        return out.getvalue()
