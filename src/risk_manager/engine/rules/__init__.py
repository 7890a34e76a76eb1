"""One module per rule (RULES.md §3); :func:`build_rules` makes the enabled ones.

Every module of this package is imported here, so each rule class registers itself (see
:class:`~risk_manager.engine.rules.base.Rule`): nothing lists the rules by hand.
"""

from __future__ import annotations

import importlib
import pkgutil

from risk_manager.config.rules import RULE_MODELS, RuleConfig, RulesConfig
from risk_manager.engine.rules.base import REGISTRY, AnyRule, Context, Rule, Trigger

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

RULE_CLASSES = REGISTRY
"""Config key → rule class, every rule module's."""

LOSS_LOCK_RULES = tuple(model.key for model in RULE_MODELS if model.locks_for_loss)
"""Rules whose breach locks the account for a loss; the view shows the room left to them."""


def build_rules(config: RulesConfig) -> list[AnyRule]:
    """The enabled rules, in rule-id order."""
    return [RULE_CLASSES[rule_config.key](rule_config) for rule_config in config.enabled_rules()]


__all__ = [
    "LOSS_LOCK_RULES",
    "RULE_CLASSES",
    "AnyRule",
    "Context",
    "Rule",
    "RuleConfig",
    "Trigger",
    "build_rules",
]
