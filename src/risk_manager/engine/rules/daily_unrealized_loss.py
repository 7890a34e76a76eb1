"""RULE-004 daily_unrealized_loss: a position's (or the total) unrealized P&L ≤ −limit →
close that position (total: flatten); no lock."""

from __future__ import annotations

from typing import ClassVar

from risk_manager.config.rules import DailyUnrealizedLoss
from risk_manager.engine.rules.unrealized import UnrealizedThresholdRule


class DailyUnrealizedLossRule(UnrealizedThresholdRule[DailyUnrealizedLoss]):
    sign: ClassVar[int] = -1
    word: ClassVar[str] = "limit"

    def __init__(self, config: DailyUnrealizedLoss) -> None:
        assert config.limit is not None
        super().__init__(config, config.limit, config.scope)
