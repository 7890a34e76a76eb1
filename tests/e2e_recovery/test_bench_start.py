"""``risk-manager bench start`` end to end, tiny: the JSON figures, every account guarded."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from risk_manager.cli.main import app


def test_bench_start_json_and_the_hot_account_guarded() -> None:
    result = CliRunner().invoke(app, ["bench", "start", "--accounts", "3", "--json"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout.strip().splitlines()[-1])
    assert set(figures) == {"accounts", "hot_s", "p50_s", "all_s", "batches"}
    assert figures["accounts"] == 3
    assert 0 < figures["hot_s"] <= figures["all_s"]
    assert figures["batches"] == 2  # the hot account alone, then the two others together
