"""The admin control's reload decisions (runtime/control.py) on a real config file and a real
SQLite store: what needs a restart is refused with its section named, an unknown account or
lock is named, and a lowered delay waits for the delay in force."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from risk_manager.config.loader import load_config
from risk_manager.domain.errors import UnknownAccount
from risk_manager.runtime.control import DaemonControl
from risk_manager.store import Store

T0 = datetime(2026, 3, 10, 15, 0, tzinfo=UTC)


def write(path: Path, *, port: int = 8765, loosen: str = "30m") -> None:
    path.write_text(
        f"store: {{path: rm.sqlite}}\napi: {{port: {port}}}\n"
        f"admin: {{loosen_delay: {loosen}}}\n"
        "rules:\n  daily_net_loss: {enabled: true, limit: 1000}\n",
        encoding="utf-8",
    )


@pytest.fixture
def setup(tmp_path: Path) -> Iterator[tuple[DaemonControl, Path, Store]]:
    path = tmp_path / "config.yaml"
    write(path)
    config = load_config(path, env={})
    with Store.open(config.store.path) as store:
        control = DaemonControl(config, path, store, {}, lambda: T0)
        control.restore(T0)
        yield control, path, store


async def test_a_section_built_into_the_daemon_is_refused_as_needing_a_restart(
    setup: tuple[DaemonControl, Path, Store],
) -> None:
    control, path, _ = setup
    write(path, port=9999)
    result = await control.reload(who="admin", reason="move the api")
    assert not result.ok
    assert result.reasons == ["api: changed; this needs a restart"]
    assert control.problem() is not None and "api: changed" in (control.problem() or "")
    write(path)  # back: accepted, the refusal gone
    assert (await control.reload(who="admin", reason="back")).ok
    assert control.problem() is None


async def test_a_lowered_delay_waits_for_the_delay_in_force_and_is_stored(
    setup: tuple[DaemonControl, Path, Store],
) -> None:
    control, path, store = setup
    write(path, loosen="5m")
    result = await control.reload(who="admin", reason="shorter")
    assert result.ok and control.admin.loosen_delay == timedelta(minutes=30)
    (pending,) = control.pending(0)
    assert pending.rule == "admin" and pending.due_at == T0 + timedelta(minutes=30)
    assert store.pending_loosenings() == [pending]


async def test_an_unknown_account_is_named(setup: tuple[DaemonControl, Path, Store]) -> None:
    control, _, _ = setup
    with pytest.raises(UnknownAccount, match="account 42"):
        await control.clear_lock(42, None, who="admin", reason="x")
    with pytest.raises(UnknownAccount, match="account 42"):
        await control.reset_account(42, who="admin", reason="x")
