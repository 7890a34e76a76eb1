"""Settings for the whole suite."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import settings

from support.fake_systemd import FakeSystemd, fake_systemd

# Hypothesis' per-example deadline (200 ms) measures the machine, not the code: on a loaded CI
# runner a store round trip took 271 ms once and 31 ms when re-run, failing as "flaky". Speed is
# measured by the benchmarks (docs/PERFORMANCE.md); each test still has pytest-timeout's bound.
settings.register_profile("suite", deadline=None)
settings.load_profile("suite")


@pytest.fixture
def systemd() -> Iterator[FakeSystemd]:
    """A fake systemd's notify socket (tests/support/fake_systemd.py)."""
    with fake_systemd() as fake:
        yield fake
