"""RULE-014 weekly_realized_loss: week's realized P&L ≤ −limit → flatten, lock until the
weekly reset."""

from __future__ import annotations

from typing import ClassVar

from risk_manager.config.durations import UntilSentinel
from risk_manager.config.rules import WeeklyRealizedLoss
from risk_manager.engine.rules.realized import RealizedThresholdRule


class WeeklyRealizedLossRule(RealizedThresholdRule[WeeklyRealizedLoss]):
    period: ClassVar[str] = "week"
    label: ClassVar[str] = "week realized"
    until: ClassVar[UntilSentinel] = UntilSentinel.WEEK_RESET

    def __init__(self, config: WeeklyRealizedLoss) -> None:
        assert config.limit is not None
        super().__init__(config, config.limit, config.include_fees)
