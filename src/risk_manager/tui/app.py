"""The Textual terminal dashboard: a header, then tabs Overview, P&L, Positions, Rules, Log,
History.

The header holds what must be seen in any terminal, 80×24 included: the daemon's state (or
"daemon unreachable since …"), and per account the lock state, net P&L, room to the nearest
loss lock, the nearest lock's countdown and any problem; the tabs scroll. Follows
``/api/v1/stream`` (reconnecting by itself), re-renders once a second so lock countdowns tick,
and greys the last figures while the daemon is unreachable. Quitting it never affects the
daemon: it is only a client of the API.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Callable
from typing import ClassVar

from rich.console import Console, RenderableType
from rich.styled import Styled
from rich.text import Text
from textual.app import App, ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.css.query import NoMatches
from textual.widgets import Footer, Static, TabbedContent, TabPane

from risk_manager.tui import render
from risk_manager.tui.client import DEFAULT_URL, ApiUnreachable, fetch_history, follow_stream
from risk_manager.tui.state import CONNECTING, DashboardState
from risk_manager.types import JSON, Clock, utc_now

TABS = (
    ("overview", "Overview"),
    ("pnl", "P&L"),
    ("positions", "Positions"),
    ("rules", "Rules"),
    ("log", "Log"),
    ("history", "History"),
)
HISTORY_EVERY = 60.0  # seconds between reads of the history (and at each connect)


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
    #summary { height: auto; max-height: 12; padding: 0 1; border-bottom: solid $primary-darken-2; }
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
        self.bells = 0  # bells rung for new locks (config api.notify_on_lock)

    def compose(self) -> ComposeResult:
        yield Static(id="conn")
        yield Static(id="summary")
        with TabbedContent(initial="overview", id="tabs"):
            for pane, title in TABS:
                with TabPane(title, id=pane), VerticalScroll():
                    yield Static(id=f"{pane}-body")
        yield Footer()

    def on_mount(self) -> None:
        self.refresh_views()
        self.set_interval(1.0, self.refresh_views, name="countdown-refresh")
        self.set_interval(HISTORY_EVERY, self._read_history, name="history-refresh")
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
            new_locks = self.state.apply(message)
        except (KeyError, TypeError, ValueError) as exc:  # a newer or broken daemon
            self.notify(f"ignored a malformed stream message: {exc!r}", severity="warning")
            return
        if new_locks and self.state.settings.get("notify_on_lock"):
            self.bell()  # config api.notify_on_lock: a new lock rings the terminal's bell
            self.bells += 1
        self.refresh_views()

    def _stream_connection(self, connected: bool, note: str) -> None:
        self.state.set_connection(connected, note, self._clock())
        if connected:
            self._read_history()
        self.refresh_views()

    def _read_history(self) -> None:
        self.run_worker(self._history(), name="history", exclusive=True, group="history")

    async def _history(self) -> None:
        try:
            self.state.history = await fetch_history(self.url)
        except ApiUnreachable:
            return  # keep what was shown; the stream's state says the daemon is gone
        self.refresh_views()

    def refresh_views(self) -> None:
        now = self._clock()
        zone, label = render.zone_of(self.state)
        width = self.size.width or 160
        builders: dict[str, Callable[[], RenderableType]] = {
            "conn": self._connection_line,
            "summary": lambda: render.summary(self.state, now),
            "overview": lambda: render.overview(self.state, now),
            "pnl": lambda: render.pnl(self.state, now),
            "positions": lambda: render.positions(self.state),
            "rules": lambda: render.rules(self.state, now),
            "log": lambda: render.log(self.state, width),
            "history": lambda: render.history(self.state.history, zone, label),
        }
        self._rendered = {pane: _safely(build) for pane, build in builders.items()}
        # A stream message that lands while the app closes has nothing left to show on.
        with contextlib.suppress(NoMatches):
            self._show(not self.state.connected)

    def _show(self, stale: bool) -> None:
        conn = self.query_one("#conn", Static)
        conn.set_classes("live" if self.state.connected else "down")
        conn.update(self._rendered["conn"])
        # The last figures received, greyed while the daemon is unreachable: never trusted.
        for pane in ("summary", *(pane for pane, _ in TABS)):
            shown = self._rendered[pane]
            body = self.query_one(f"#{pane}" if pane == "summary" else f"#{pane}-body", Static)
            body.update(Styled(shown, "dim") if stale else shown)

    def _connection_line(self) -> Text:
        s = self.state
        if not s.connected and s.connection_note == CONNECTING:
            return Text(f"● connecting to {self.url}…", style="bold")
        if not s.connected:
            zone, label = render.zone_of(s)
            since = render.clock(s.down_since, zone) if s.down_since else "?"
            seen = "; last figures greyed" if s.accounts else ""
            why = s.connection_note
            return Text(
                f"● daemon unreachable since {since} {label} — retrying ({why}){seen}", style="bold"
            )
        locked = sum(1 for a in s.accounts.values() if a.get("locked"))
        health = s.health or {}
        n = len(s.accounts)
        # Most important first: at 80 columns the end of the line (the URL) is what is cut.
        line = Text("● live  ", style="bold")
        line.append(f"{locked} LOCKED" if locked else "none locked", style="bold" if locked else "")
        line.append(f" of {n} account{'' if n == 1 else 's'}")
        gateway = "connected" if health.get("signalr_connected") else "DISCONNECTED"
        line.append(f"  daemon {health.get('status', '?')} · gateway {gateway}")
        if health.get("problem"):  # the daemon can't guard fully: never only in the log
            line.append(f"  ⚠ {health['problem']}", style="bold red")
        line.append(f"  {self.url}", style="dim")
        return line

    def pane_text(self, pane: str, width: int = 160) -> str:
        """What a tab (or ``conn``) currently shows, as plain text (for tests and captures)."""
        out = io.StringIO()
        Console(file=out, width=width, color_system=None, legacy_windows=False).print(
            self._rendered[pane]
        )
        return out.getvalue()
