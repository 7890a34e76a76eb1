"""RULE-013 daily_realized_profit: day's realized P&L ≥ target → flatten, lock until reset."""

from __future__ import annotations

from typing import ClassVar

from risk_manager.config.rules import DailyRealizedProfit
from risk_manager.engine.rules.realized import RealizedThresholdRule


class DailyRealizedProfitRule(RealizedThresholdRule[DailyRealizedProfit]):
    sign: ClassVar[int] = 1
    word: ClassVar[str] = "target"

    def __init__(self, config: DailyRealizedProfit) -> None:
        assert config.target is not None
        super().__init__(config, config.target, config.include_fees)
