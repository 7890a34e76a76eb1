"""Configuration: typed pydantic models, YAML + ``${ENV}`` loading, validation errors.

The models are the single source of every setting and default (DESIGN.md); the rule models'
keys are the rule book's (RULES.md §3).
"""

from risk_manager.config.durations import Duration, LockDuration, UntilSentinel
from risk_manager.config.errors import ConfigError
from risk_manager.config.loader import load_config, parse_config
from risk_manager.config.models import Config
from risk_manager.config.rules import RULE_KEYS, RULE_MODELS, RuleConfig, RulesConfig

__all__ = [
    "RULE_KEYS",
    "RULE_MODELS",
    "Config",
    "ConfigError",
    "Duration",
    "LockDuration",
    "RuleConfig",
    "RulesConfig",
    "UntilSentinel",
    "load_config",
    "parse_config",
]
