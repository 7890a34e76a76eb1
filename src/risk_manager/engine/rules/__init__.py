"""One module per rule (RULES.md §3); :func:`build_rules` makes the enabled ones."""

from __future__ import annotations

from collections.abc import Callable

from risk_manager.config.rules import RuleConfig, RulesConfig
from risk_manager.engine.rules.auth_loss_guard import AuthLossGuardRule
from risk_manager.engine.rules.base import Context, Rule, Trigger
from risk_manager.engine.rules.cooldown_after_loss import CooldownAfterLossRule
from risk_manager.engine.rules.daily_net_loss import DailyNetLossRule
from risk_manager.engine.rules.daily_realized_loss import DailyRealizedLossRule
from risk_manager.engine.rules.daily_realized_profit import DailyRealizedProfitRule
from risk_manager.engine.rules.daily_unrealized_loss import DailyUnrealizedLossRule
from risk_manager.engine.rules.max_contracts import MaxContractsRule
from risk_manager.engine.rules.max_contracts_per_instrument import (
    MaxContractsPerInstrumentRule,
)
from risk_manager.engine.rules.max_unrealized_profit import MaxUnrealizedProfitRule
from risk_manager.engine.rules.no_stop_loss_grace import NoStopLossGraceRule
from risk_manager.engine.rules.session_block_outside import SessionBlockOutsideRule
from risk_manager.engine.rules.symbol_blocks import SymbolBlocksRule
from risk_manager.engine.rules.trade_frequency_limit import TradeFrequencyLimitRule
from risk_manager.engine.rules.trade_management import TradeManagementRule
from risk_manager.engine.rules.trailing_drawdown import TrailingDrawdownRule
from risk_manager.engine.rules.weekly_realized_loss import WeeklyRealizedLossRule

RULE_CLASSES: dict[str, Callable[..., Rule]] = {
    "max_contracts": MaxContractsRule,
    "max_contracts_per_instrument": MaxContractsPerInstrumentRule,
    "daily_realized_loss": DailyRealizedLossRule,
    "daily_unrealized_loss": DailyUnrealizedLossRule,
    "max_unrealized_profit": MaxUnrealizedProfitRule,
    "trade_frequency_limit": TradeFrequencyLimitRule,
    "cooldown_after_loss": CooldownAfterLossRule,
    "no_stop_loss_grace": NoStopLossGraceRule,
    "session_block_outside": SessionBlockOutsideRule,
    "auth_loss_guard": AuthLossGuardRule,
    "symbol_blocks": SymbolBlocksRule,
    "trade_management": TradeManagementRule,
    "daily_realized_profit": DailyRealizedProfitRule,
    "weekly_realized_loss": WeeklyRealizedLossRule,
    "daily_net_loss": DailyNetLossRule,
    "trailing_drawdown": TrailingDrawdownRule,
}

LOSS_LOCK_RULES = (
    "daily_realized_loss",
    "weekly_realized_loss",
    "daily_net_loss",
    "trailing_drawdown",
)
"""Rules whose breach locks the account for a loss; the view shows the room left to them."""


def build_rules(config: RulesConfig) -> list[Rule]:
    """The enabled rules, in rule-id order."""
    out: list[Rule] = []
    for rule_config in config.enabled_rules():
        out.append(RULE_CLASSES[rule_config.key](rule_config))
    return out


__all__ = [
    "LOSS_LOCK_RULES",
    "RULE_CLASSES",
    "Context",
    "Rule",
    "RuleConfig",
    "Trigger",
    "build_rules",
]
