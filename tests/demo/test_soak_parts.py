"""Units of the soak (src/risk_manager/demo/soak.py): reading /metrics, the per-interval
latency from histogram deltas, the growth slope after the warm-up, the plot."""

from __future__ import annotations

from pathlib import Path

import pytest

from risk_manager.demo.soak import Sample, db_megabytes, growth_per_hour, plot, read_metrics
from risk_manager.runtime.metrics import Metrics


def _sample(minute: float, rss: float) -> Sample:
    return Sample(minute, rss, 20, 1.0, 2.0, 3, 0.5, 1.0, 1, 0)


def test_latency_of_an_interval_is_the_histograms_difference() -> None:
    metrics = Metrics()
    for seconds in (0.0004, 0.0004, 0.003):
        metrics.observe_latency(seconds)
    before, _ = read_metrics(metrics.render().decode())
    metrics.loop_lag(0.012)
    for seconds in [0.0002] * 98 + [0.004, 0.02]:
        metrics.observe_latency(seconds)
    after, lag = read_metrics(metrics.render().decode())
    assert lag == pytest.approx(0.012)
    new = after.since(before)
    assert new.count == 100
    assert new.total == pytest.approx(98 * 0.0002 + 0.024)
    assert new.quantile_bound(0.5) == 0.00025  # the bucket holding the median
    assert new.quantile_bound(0.99) == 0.005  # the 99th of 100 is the 4 ms one
    assert after.since(after).quantile_bound(0.99) == 0.0  # nothing new: no figure


def test_growth_is_the_slope_after_the_warm_up_only() -> None:
    warm = [_sample(m, 50.0 + 3 * m) for m in range(10)]  # fast growth while warming up
    flat = [_sample(m, 80.0 + (m % 2) * 0.2) for m in range(10, 70)]
    slope = growth_per_hour(warm + flat, warmup_minutes=10)
    assert slope is not None and abs(slope) < 0.1
    leaking = [_sample(m, 80.0 + m / 60) for m in range(10, 70)]  # 1 MiB an hour
    assert growth_per_hour(leaking, 10) == pytest.approx(1.0)
    assert growth_per_hour(flat[:2], 10) is None  # two points make no trend


def test_store_size_counts_the_write_ahead_log(tmp_path: Path) -> None:
    db = tmp_path / "x.sqlite"
    db.write_bytes(b"0" * 2**20)
    Path(f"{db}-wal").write_bytes(b"0" * 2**19)
    assert db_megabytes(db) == 1.5


def test_the_plot_is_a_png(tmp_path: Path) -> None:
    path = tmp_path / "soak.png"
    plot([_sample(m, 70.0) for m in range(5)], path, warmup_min=1.0, slope=0.0)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
