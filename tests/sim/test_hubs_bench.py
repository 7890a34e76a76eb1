"""The quote-throughput benchmark runs end to end (the figure itself is in docs/PERFORMANCE.md)."""

from __future__ import annotations

import pytest

from risk_manager.sim.bench_quotes import main, run_bench


@pytest.mark.parametrize("client", ["raw", "pysignalr"])
async def test_bench_delivers_every_quote_to_the_subscriber(client: str) -> None:
    result = await run_bench(count=3_000, window=300, client=client)
    assert result.events == 3_000
    # Far below the ~30,000-100,000/s measured on 2 cores: only catches a broken fan-out path.
    assert result.per_second > 1_000


def test_bench_main_prints_the_rate(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--count", "500", "--client", "raw"]) == 0
    out = capsys.readouterr().out
    assert "CPU(s)" in out and "quotes/s delivered" in out
