"""RULE-005 max_unrealized_profit: unrealized P&L ≥ target → close that position (total:
flatten); no lock."""

from __future__ import annotations

from typing import ClassVar

from risk_manager.config.rules import MaxUnrealizedProfit
from risk_manager.engine.rules.unrealized import UnrealizedThresholdRule


class MaxUnrealizedProfitRule(UnrealizedThresholdRule[MaxUnrealizedProfit]):
    sign: ClassVar[int] = 1
    word: ClassVar[str] = "target"

    def __init__(self, config: MaxUnrealizedProfit) -> None:
        assert config.target is not None
        super().__init__(config, config.target, config.scope)
