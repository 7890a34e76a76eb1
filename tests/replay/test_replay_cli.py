"""`risk-manager replay` end to end on gateway-shaped fixtures (DST days, 17:00 CT, gaps)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from risk_manager.cli.main import app

FIX = Path(__file__).parent / "fixtures"
runner = CliRunner()


def replay(*args: str) -> tuple[int, list[dict[str, object]], str]:
    result = runner.invoke(app, ["replay", *args])
    records = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    return result.exit_code, records, result.stderr


def brief(records: list[dict[str, object]]) -> list[tuple[object, object, object]]:
    return [(r["at"], r["kind"], r["rule"]) for r in records]


def test_daily_loss_fixture_warns_cools_down_then_locks() -> None:
    code, recs, err = replay(
        str(FIX / "daily_loss.jsonl"), "--config", str(FIX / "daily_loss.yaml"), "--json"
    )
    assert code == 0
    assert "line 9: skipped unknown target 'GatewayDepth'" in err
    assert [(k, r) for _, k, r in brief(recs)] == [
        ("alert", "daily_realized_loss"),
        ("lock", "cooldown_after_loss"),
        ("flatten", "cooldown_after_loss"),
        ("close_position", "cooldown_after_loss"),  # the position shrank while locked
        ("lock", "daily_realized_loss"),
        ("flatten", "daily_realized_loss"),
    ]
    lock = recs[4]
    assert lock["until"] == "2026-03-10T22:00:00+00:00" and lock["lock_kind"] == "hard"
    assert "realized −507.60 ≤ −500.00 (limit)" in str(lock["reason"])
    assert set(recs[0]) == {"at", "account_id", "rule", "kind", "reason", "severity"}


def test_spring_forward_day_ends_at_17_cdt() -> None:
    code, recs, _ = replay(
        str(FIX / "dst_spring.jsonl"), "--config", str(FIX / "dst.yaml"), "--json"
    )
    assert code == 0
    # -300 at 16:59 CDT belongs to Monday; -300 and -250 after 17:00 CDT lock Tuesday's day.
    assert brief(recs) == [
        ("2026-03-09T22:05:00+00:00", "lock", "daily_realized_loss"),
        ("2026-03-09T22:05:00+00:00", "flatten", "daily_realized_loss"),
    ]
    assert recs[0]["until"] == "2026-03-10T22:00:00+00:00"


def test_fall_back_day_ends_at_17_cst() -> None:
    code, recs, _ = replay(str(FIX / "dst_fall.jsonl"), "--config", str(FIX / "dst.yaml"), "--json")
    assert code == 0
    assert recs[0]["until"] == "2026-11-02T23:00:00+00:00"
    assert "locked until 2026-11-02 17:00 CT" in str(recs[0]["reason"])


def test_17ct_boundary_gap_and_grace() -> None:
    code, recs, _ = replay(
        str(FIX / "boundary_17ct.jsonl"), "--config", str(FIX / "boundary_17ct.yaml"), "--json"
    )
    assert code == 0
    kinds = [(k, r) for _, k, r in brief(recs)]
    assert ("close_position", "no_stop_loss_grace") in kinds
    assert ("alert", "auth_loss_guard") in kinds and ("flatten", "auth_loss_guard") in kinds
    locks = [r for r in recs if r["kind"] == "lock"]
    # the -451.90 just before 17:00 CDT does not add to Wednesday's -523.80
    assert [(r["at"], r["until"]) for r in locks] == [
        ("2026-03-10T22:02:00+00:00", "2026-03-11T22:00:00+00:00")
    ]


@pytest.mark.parametrize("name", ["daily_loss", "boundary_17ct"])
def test_replay_output_is_byte_identical(name: str) -> None:
    cfg = FIX / ("daily_loss.yaml" if name == "daily_loss" else "boundary_17ct.yaml")
    a = runner.invoke(app, ["replay", str(FIX / f"{name}.jsonl"), "--config", str(cfg), "--json"])
    b = runner.invoke(app, ["replay", str(FIX / f"{name}.jsonl"), "--config", str(cfg), "--json"])
    assert a.stdout_bytes == b.stdout_bytes and a.stdout_bytes
    t1 = runner.invoke(app, ["replay", str(FIX / f"{name}.jsonl"), "--config", str(cfg)])
    t2 = runner.invoke(app, ["replay", str(FIX / f"{name}.jsonl"), "--config", str(cfg)])
    assert t1.stdout_bytes == t2.stdout_bytes and "kind" in t1.stdout


def test_until_moves_the_clock_after_the_last_line(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "rules:\n  no_stop_loss_grace: {enabled: true, grace: 1m}\n"
        'broker:\n  username: "${NOT_SET_ANYWHERE}"\n'
    )  # other sections: ignored
    events = tmp_path / "e.jsonl"
    events.write_text(
        json.dumps(
            {
                "at": "2026-03-10T15:00:00Z",
                "hub": "user",
                "target": "GatewayUserPosition",
                "arguments": [
                    {
                        "action": 1,
                        "data": {
                            "id": 1,
                            "accountId": 3,
                            "contractId": "CON.F.US.EP.H26",
                            "type": 2,
                            "size": 1,
                            "averagePrice": 6000,
                        },
                    }
                ],
            }
        )
        + "\n"
    )
    code, recs, _ = replay(str(events), "--config", str(cfg), "--json")
    assert code == 0 and not [r for r in recs if r["kind"] == "close_position"]
    code, recs, _ = replay(
        str(events), "--config", str(cfg), "--json", "--until", "2026-03-10T15:01:00Z"
    )
    closes = [r for r in recs if r["kind"] == "close_position"]
    assert closes[0]["at"] == "2026-03-10T15:01:00+00:00" and closes[0]["size"] is None


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "line 2: not JSON"),
        ('{"hub": "user"}', "line 2: missing `at`"),
        ('{"at": "2026-03-10T14:00:00Z"}', "line 2: `at`"),
        (
            '{"at": "2026-03-10T16:00:00Z", "hub": "user", "target": "GatewayUserTrade", '
            '"arguments": [{"action": 0, "data": {"id": 1}}]}',
            "line 2: GatewayUserTrade",
        ),
        ('{"at": "2026-03-10T16:00:00Z", "connection": "user", "state": "gone"}', "line 2:"),
    ],
)
def test_malformed_line_stops_with_exit_2_and_its_number(
    tmp_path: Path, line: str, message: str
) -> None:
    events = tmp_path / "e.jsonl"
    events.write_text('{"at": "2026-03-10T15:00:00Z"}\n' + line + "\n")
    cfg = tmp_path / "c.yaml"
    cfg.write_text("rules: {}\n")
    code, _, err = replay(str(events), "--config", str(cfg), "--json")
    assert code == 2
    assert message in err


def test_bad_config_exits_2_naming_the_key(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("rules:\n  daily_realized_loss: {enabled: true}\n")
    events = tmp_path / "e.jsonl"
    events.write_text("")
    code, _, err = replay(str(events), "--config", str(cfg))
    assert code == 2 and "daily_realized_loss" in err
