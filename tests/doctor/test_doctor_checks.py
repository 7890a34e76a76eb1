"""doctor's checks on their own: the clock offset from whole-second stamps (against a real
gateway stand-in whose clock is off), the daily reset, latency p95 from a Prometheus text,
the database's integrity, and the verdicts' exit code."""

from __future__ import annotations

import base64
import json
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from risk_manager.config.models import Config
from risk_manager.doctor import checks
from risk_manager.doctor.clock import least_offset, offset_bounds
from risk_manager.doctor.verdict import Verdict, exit_code
from risk_manager.engine.factory import calendar_for
from risk_manager.runtime.metrics import Metrics
from risk_manager.service.spec import default_spec
from risk_manager.store.backup import create_backup
from risk_manager.store.store import Store


def token(iat: float) -> str:
    def part(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none'})}.{part({'iat': int(iat), 'exp': int(iat) + 86400})}.sig"


async def probe_gateway_off_by(skew: float) -> checks.LoginProbe:
    """A gateway stand-in on a real socket whose clock is ``skew`` seconds ahead."""

    async def login(request: web.Request) -> web.Response:
        server_now = time.time() + skew
        body = {"token": token(server_now), "success": True, "errorCode": 0}
        return web.json_response(body, headers={"Date": formatdate(server_now, usegmt=True)})

    app = web.Application()
    app.router.add_post("/api/Auth/loginKey", login)
    async with TestServer(app, host="127.0.0.1") as server:
        url = str(server.make_url("")).rstrip("/")
        config = Config.model_validate(
            {"broker": {"api_url": url, "username": "u", "api_key": "k"}}
        )
        return await checks.probe_login(config)


@pytest.mark.parametrize(
    ("skew", "status"),
    [(0.0, "ok"), (3.0, "warn"), (-3.0, "warn"), (12.0, "fail"), (-12.0, "fail")],
)
async def test_the_clock_check_warns_past_1_s_and_fails_past_5_s(skew: float, status: str) -> None:
    probe = await probe_gateway_off_by(skew)
    verdict = checks.check_clock(probe)
    assert verdict.status == status, verdict
    if status != "ok":
        assert verdict.fix and "synchronise" in verdict.fix
        assert ("behind" if skew > 0 else "ahead of") in verdict.detail


def test_whole_second_stamps_give_the_least_offset_they_allow() -> None:
    # Sent at 100.2, answered at 100.4; the server stamped 100 (its clock read 100.0-100.99).
    assert least_offset([offset_bounds(100, 100.2, 100.4)]) == 0.0
    # Stamped 110: at least 110 - 100.4 = 9.6 s ahead of us.
    assert least_offset([offset_bounds(110, 100.2, 100.4)]) == pytest.approx(9.6)
    # Stamped 90: at least 100.2 - 91 = 9.2 s behind.
    assert least_offset([offset_bounds(90, 100.2, 100.4)]) == pytest.approx(-9.2)
    with pytest.raises(ValueError):
        least_offset([])


def test_a_refused_login_fails_with_what_to_check() -> None:
    probe = checks.LoginProbe({"success": False, "errorMessage": "bad key"}, None, 0.0, 0.1)
    verdict = checks.check_login(probe, datetime.now(UTC))
    assert verdict.status == "fail"
    assert "bad key" in verdict.detail
    assert verdict.fix and "PROJECTX_API_KEY" in verdict.fix


def test_a_ledger_left_on_yesterday_fails_the_daily_reset_check() -> None:
    calendar = calendar_for(Config().trading_day)
    now = datetime(2026, 3, 11, 15, 0, tzinfo=UTC)  # a Wednesday
    today = calendar.trading_day(now)
    yesterday = (today - timedelta(days=1)).isoformat()

    def readings(day: str | None) -> checks.DaemonReadings:
        return checks.DaemonReadings({}, [{"id": 7, "ledger_day": day}], "")

    assert checks.check_daily_reset(readings(today.isoformat()), calendar, now).status == "ok"
    stale = checks.check_daily_reset(readings(yesterday), calendar, now)
    assert stale.status == "fail"
    assert f"7 on {yesterday}" in stale.detail


def test_latency_p95_comes_from_the_histogram_buckets() -> None:
    metrics = Metrics()
    readings = checks.DaemonReadings({}, [], metrics.render().decode())
    assert checks.check_latency(readings).status == "ok"  # nothing enforced yet
    for _ in range(19):
        metrics.observe_latency(0.002)
    metrics.observe_latency(0.9)
    p95, count = checks.latency_p95(metrics.render().decode())
    assert count == 20
    assert p95 is not None and 0.002 <= p95 < 0.9  # 19 of 20 are fast: p95 in their bucket
    for _ in range(20):
        metrics.observe_latency(3.0)  # past the last bucket
    verdict = checks.check_latency(checks.DaemonReadings({}, [], metrics.render().decode()))
    assert verdict.status == "fail"


def test_the_database_check_runs_the_integrity_check(tmp_path: Path) -> None:
    store = tmp_path / "rm.sqlite"
    assert checks.check_database(store).status == "fail"  # missing
    conn = sqlite3.connect(store)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    verdict = checks.check_database(store)
    assert verdict.status == "ok"
    assert "integrity ok" in verdict.detail
    store.write_bytes(b"not a database at all" * 100)
    assert checks.check_database(store).status == "fail"


def test_the_exit_code_is_the_worst_verdict() -> None:
    ok = Verdict("a", "ok", "")
    warn = Verdict("b", "warn", "", "do this")
    fail = Verdict("c", "fail", "", "do that")
    assert exit_code([ok]) == 0
    assert exit_code([ok, warn]) == 1
    assert exit_code([warn, fail, ok]) == 2


def test_backups_off_or_missing_or_late_are_warnings_and_a_recent_one_is_ok(
    tmp_path: Path,
) -> None:
    store = tmp_path / "rm.sqlite"
    with Store.open(store):
        pass  # a store of the current schema
    off = Config.model_validate({"store": {"path": str(store)}, "backup": {"enabled": False}})
    assert checks.check_backups(off).status == "warn"
    assert "off" in checks.check_backups(off).detail
    config = Config.model_validate({"store": {"path": str(store)}})
    missing = checks.check_backups(config)
    assert (missing.status, missing.detail) == ("warn", f"no backup in {tmp_path / 'backups'} yet")
    taken = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    create_backup(store, tmp_path / "backups", taken)
    assert checks.check_backups(config, taken + timedelta(hours=20)).status == "ok"
    late = checks.check_backups(config, taken + timedelta(hours=27))
    assert (late.status, "27 h old" in late.detail) == ("warn", True)


@pytest.mark.parametrize(
    ("installed", "answer", "status"),
    [(False, "true", "warn"), (True, "true", "ok"), (True, "false", "fail")],
)
def test_the_service_check_asks_the_service_manager(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, installed: bool, answer: str, status: str
) -> None:
    unit = tmp_path / "risk-manager.service"
    if installed:
        unit.write_text("[Unit]\n")
    monkeypatch.setattr(checks, "uninstall_files", lambda spec: [unit])
    # `true` / `false` stand in for the manager's status command (exit 0: running).
    monkeypatch.setattr(checks, "control_command", lambda spec, action: [answer])
    spec = default_spec("darwin", Path("/opt/rm/bin/risk-manager"))  # any but linux's rewrite
    verdict = checks.check_service(spec, "sudo risk-manager service install ...")
    assert verdict.status == status, verdict
    assert (verdict.fix is None) == (status == "ok")
