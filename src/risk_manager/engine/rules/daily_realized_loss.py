"""RULE-003 daily_realized_loss: day's realized P&L ≤ −limit → flatten, lock until reset."""

from __future__ import annotations

from risk_manager.config.rules import DailyRealizedLoss
from risk_manager.engine.rules.realized import RealizedThresholdRule


class DailyRealizedLossRule(RealizedThresholdRule[DailyRealizedLoss]):
    def __init__(self, config: DailyRealizedLoss) -> None:
        assert config.limit is not None
        super().__init__(config, config.limit, config.include_fees)
