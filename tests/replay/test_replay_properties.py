"""Replay is deterministic over random gateway-shaped event sequences (hypothesis)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from risk_manager.cli.replay import run_replay
from risk_manager.config.models import Config
from risk_manager.domain.actions import action_to_dict
from risk_manager.engine.factory import engine_for

T0 = datetime(2026, 3, 10, 21, 50, tzinfo=UTC)  # ten minutes before the 17:00 CT reset
CIDS = ["CON.F.US.ENQ.H26", "CON.F.US.EP.H26"]
CONFIG = Config.model_validate(
    {
        "rules": {
            "daily_realized_loss": {"enabled": True, "limit": 300, "warn_at": 0.5},
            "max_contracts": {"enabled": True, "limit": 2},
            "daily_unrealized_loss": {"enabled": True, "limit": 200},
            "trade_frequency_limit": {"enabled": True, "per_minute": 3},
            "no_stop_loss_grace": {"enabled": True, "grace": "20s"},
            "daily_net_loss": {"enabled": True, "limit": 400, "trailing": True},
        }
    }
)


@st.composite
def lines(draw: st.DrawFn) -> list[str]:
    out: list[str] = []
    at = T0
    for i in range(draw(st.integers(1, 40))):
        at += timedelta(milliseconds=draw(st.integers(0, 60_000)))
        stamp = at.isoformat()
        cid = draw(st.sampled_from(CIDS))
        kind = draw(st.sampled_from(["trade", "position", "quote", "tick", "conn"]))
        obj: dict[str, Any] = {"at": stamp}
        if kind == "trade":
            data: dict[str, Any] = {
                "id": draw(st.integers(1, 8)),
                "accountId": 7,
                "contractId": cid,
                "creationTimestamp": stamp,
                "price": 100,
                "fees": 1.4,
                "side": 1,
                "size": 1,
                "orderId": i,
                "voided": draw(st.booleans()),
            }
            if draw(st.booleans()):
                data["profitAndLoss"] = draw(st.integers(-300, 300))
            obj.update(
                hub="user", target="GatewayUserTrade", arguments=[{"action": 0, "data": data}]
            )
        elif kind == "position":
            size = draw(st.integers(0, 4))
            obj.update(
                hub="user",
                target="GatewayUserPosition",
                arguments=[
                    {
                        "action": 1,
                        "data": {
                            "id": 1,
                            "accountId": 7,
                            "contractId": cid,
                            "type": 1 if size else 0,
                            "size": size,
                            "averagePrice": 100,
                        },
                    }
                ],
            )
        elif kind == "quote":
            obj.update(
                hub="market",
                target="GatewayQuote",
                arguments=[cid, {"lastPrice": draw(st.integers(90, 110))}],
            )
        elif kind == "conn":
            obj.update(
                connection="user", state=draw(st.sampled_from(["connected", "disconnected"]))
            )
        out.append(json.dumps(obj))
    return out


def run(text: list[str]) -> str:
    engine = engine_for(CONFIG)
    recs = [action_to_dict(a) for a in run_replay(engine, iter(text), None, lambda _m: None)]
    return "\n".join(json.dumps(r, ensure_ascii=False) for r in recs)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines())
def test_replay_is_deterministic(text: list[str]) -> None:
    assert run(text) == run(text)


def test_bench_engine_runs_and_reports_figures() -> None:
    from risk_manager.cli.bench import run_engine_bench

    result = run_engine_bench(3000)
    assert result["events_per_s"] > 0 and 0 < result["p50_us"] <= result["p99_us"]
