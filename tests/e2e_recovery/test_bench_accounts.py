"""``risk-manager bench accounts`` end to end, short (two steps of a second): a well-formed
report. Nothing about the figures is asserted: they are the shared machine's."""

from __future__ import annotations

import json
from dataclasses import replace

from typer.testing import CliRunner

from risk_manager.cli.main import app
from risk_manager.runtime.bench_accounts import CapacityStep, limiting_factor


def test_bench_accounts_reports_each_step_the_knee_and_what_limited_it() -> None:
    args = ["bench", "accounts", "--steps", "1,2", "--seconds", "1", "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["bench"] == "accounts"
    assert report["command"].startswith("risk-manager bench accounts --steps 1,2")
    figures = report["figures"]
    steps = figures["steps"]
    assert steps[0]["accounts"] == 1 and len(steps) in (1, 2)
    for step in steps:
        assert step["enforced"] == step["breaches"] >= 1  # every breach enforced
        assert 0 < step["p50_ms"] <= step["p99_ms"]
        assert step["floor_p99_ms"] > 0 and step["events_per_s"] == 5.0
        assert step["fsync_floor_p99_ms"] > 0
        assert step["daemon_cpu_pct"] >= 0 and step["rest_429"] == 0
    assert figures["knee_accounts"] in (0, 1, 2)
    assert isinstance(figures["limited_by"], str) and figures["limited_by"]
    assert figures["target_p99_ms"] == 10.0
    assert {"p99_ms", "fsync_p99_ms"} <= report["floor"].keys() and report["floor"]["what"]


def test_bench_accounts_with_a_dashboard_following_the_daemons_stream() -> None:
    """``--dashboard``: the daemon's API is served and a dashboard in another process follows
    its stream through the step (runtime/bench_watcher.py); what it received is reported."""
    args = ["bench", "accounts", "--steps", "2", "--seconds", "1", "--dashboard", "--json"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert "--dashboard" in report["command"]
    (step,) = report["figures"]["steps"]
    assert step["enforced"] == step["breaches"] >= 1
    seen = step["dashboard"]
    assert (seen["connects"], seen["drops"]) == (0, 0)  # connected before the window, kept
    assert seen["accounts"] >= 2 and seen["messages"] >= seen["accounts"]  # views streamed
    assert seen["bytes"] > 0 and 0 <= seen["curves"] <= seen["accounts"]
    assert 1.0 <= seen["seconds"] < 60  # the breaches' window, not the set-up


def test_what_limited_a_step_is_named_from_its_readings() -> None:
    base = CapacityStep(100, 5.0, 50, 50, 3.0, 12.0, 1.0, 2.5, 2.0, 40.0, 20.0, 0)
    assert "the machine's tail" in limiting_factor(base)
    assert "2.5 ms with the journal's fsync" in limiting_factor(base)
    floor = limiting_factor(replace(base, fsync_floor_p99_ms=6.0))
    assert floor.startswith("the machine's own floor") and "6 ms with the journal's fsync" in floor
    assert "rate limit" in limiting_factor(replace(base, rest_429=3))
    assert "daemon's CPU" in limiting_factor(replace(base, daemon_cpu_pct=97.0))
    assert "event loop" in limiting_factor(replace(base, loop_lag_ms=30.0))
    assert "simulator's CPU" in limiting_factor(replace(base, sim_cpu_pct=99.0))
