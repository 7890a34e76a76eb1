"""``risk-manager bench engine|sim --json``: one report shape (machine, command, figures, the
floor measured in the same run, ratios). Shapes only: figures on a shared machine are noise."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from unittest.mock import patch

import pytest
from typer.testing import CliRunner

from risk_manager.cli.bench import (
    CHUNK,
    Timed,
    bare_receive,
    our_receive,
    run_refusal_bench,
    timed_side_by_side,
    wire_quotes,
)
from risk_manager.cli.bench_report import ratios
from risk_manager.cli.main import app
from risk_manager.domain.actions import AnyAction, CancelOrder
from risk_manager.domain.enums import OrderStatus
from risk_manager.domain.events import Event, OrderEvent, QuoteEvent
from risk_manager.engine.engine import Engine


def report_of(*args: str) -> dict[str, Any]:
    """Run ``risk-manager bench <args> --json``; its one JSON line, checked for the shape
    every benchmark shares."""
    result = CliRunner().invoke(app, ["bench", *args, "--json"])
    assert result.exit_code == 0, result.output
    report: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["bench"] == args[0]
    assert report["command"].startswith(f"risk-manager bench {args[0]} ")
    machine = report["machine"]
    assert machine["cores"] >= 1 and machine["python"].startswith("3.")
    assert {"cpu", "os", "aiohttp"} <= set(machine)
    assert isinstance(report["floor"]["what"], str) and report["floor"]["what"]
    for key, ratio in report["ratio_to_floor"].items():
        assert key in report["figures"] and key in report["floor"]
        assert ratio == round(report["figures"][key] / report["floor"][key], 2)
    return report


def test_bench_engine_reports_the_engine_and_the_receive_path_against_the_floor() -> None:
    report = report_of("engine", "--events", "3000")
    figures = report["figures"]
    assert set(report["ratio_to_floor"]) == {"mean_us", "p50_us", "p99_us"}
    assert 0 < figures["p50_us"] <= figures["p99_us"]
    assert figures["receive_mean_us"] > 0 and figures["receive_to_floor"] > 0
    assert figures["locked_refusals"] == 2700  # 3,000 less the warm-up, each one refused
    assert 0 < figures["locked_refusal_p50_us"] <= figures["locked_refusal_p99_us"]


def test_the_locked_refusal_times_only_the_new_order_and_checks_each_is_refused() -> None:
    timed_events: list[int] = []
    real = Engine.process

    def spy(engine: Engine, event: Event, now: datetime) -> list[AnyAction]:
        out = real(engine, event, now)
        if isinstance(event, OrderEvent) and event.order.status is OrderStatus.OPEN:
            assert [a.order_id for a in out if isinstance(a, CancelOrder)] == [event.order.id]
            timed_events.append(event.order.id)
        return out

    with patch.object(Engine, "process", spy):
        figures = run_refusal_bench(200)
    assert figures["events"] == 180 and len(timed_events) == 200


def test_the_locked_refusal_fails_loudly_when_an_order_is_not_refused() -> None:
    with (
        patch.object(Engine, "restore_locks", lambda *_a, **_k: []),
        pytest.raises(RuntimeError, match="only 0 of 50"),
    ):
        run_refusal_bench(50)


def test_bench_sim_reports_the_hub_against_a_bare_websocket() -> None:
    report = report_of("sim", "--quotes", "2000", "--window", "200")
    assert report["figures"]["quotes"] == 2000
    assert report["figures"]["us_per_quote"] > 0 and report["floor"]["us_per_quote"] > 0
    assert set(report["ratio_to_floor"]) == {"us_per_quote"}


def test_the_receive_path_and_its_floor_read_the_same_quote() -> None:
    (text,) = wire_quotes(1)
    (event,) = our_receive(text)
    floor = bare_receive(text)
    assert isinstance(event, QuoteEvent)
    assert event.quote.contract_id == floor.contract_id == "CON.F.US.ENQ.H26"
    assert event.quote.last_price is not None and float(event.quote.last_price) == floor.last


def test_ratios_skip_a_floor_of_zero_and_keys_without_a_figure() -> None:
    assert ratios({"a": 3.0, "b": 1.0}, {"a": 1.5, "b": 0.0, "c": 2.0}) == {"a": 2.0}


def test_side_by_side_runs_take_turns_in_stretches_after_their_warm_up() -> None:
    """The engine, the receive path and the floor are timed in turns, ``CHUNK`` calls of each,
    so a ratio of two compares the same seconds of the machine (they ran one after the other
    before, and the floor's p50 moved 7 – 15 µs between runs while the engine's did not)."""
    calls: list[tuple[str, int]] = []

    def note(name: str) -> Any:
        return lambda item: calls.append((name, item))

    a, b = list(range(2 * CHUNK + 10)), list(range(CHUNK + 5))
    figures = timed_side_by_side([Timed(note("a"), a, 10), Timed(note("b"), b, 5)])
    assert calls[:15] == [("a", i) for i in range(10)] + [("b", i) for i in range(5)]
    timed_calls = calls[15:]
    runs = [name for name, _ in timed_calls]
    # a's first stretch, b's only one, then a's second: each whole, in turn
    assert runs == ["a"] * CHUNK + ["b"] * CHUNK + ["a"] * CHUNK
    assert [i for name, i in timed_calls if name == "a"] == a[10:]
    assert [i for name, i in timed_calls if name == "b"] == b[5:]
    assert [f["events"] for f in figures] == [2 * CHUNK, CHUNK]
