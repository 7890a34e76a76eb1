"""The demo's daemon config: the simulator as broker, a fresh SQLite file, a handful of rules
tuned so each scripted breach trips exactly one of them.

Durations shrink with ``speed`` so a fast run (tests) still shows every step. The config is
written to the data directory as YAML, so a person can read what the daemon was given.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from risk_manager.config.dump import dump_yaml
from risk_manager.config.loader import parse_config
from risk_manager.config.models import Config
from risk_manager.sim.server import DEFAULT_API_KEY, DEFAULT_USERNAME

SIM_USERNAME = DEFAULT_USERNAME
SIM_API_KEY = DEFAULT_API_KEY  # the simulator's own test key, not a secret
ACCOUNT_NAME = "DEMO-50K"
ACCOUNT_BALANCE = Decimal(50000)

# The limits the scripted trader is written against (demo/trader.py reads them from here).
MAX_CONTRACTS = 2
LOSS_LIMIT = Decimal(400)
BLOCKED_SYMBOL = "RTY"
NO_STOP_GRACE = 10.0  # seconds at speed 1
COOLDOWN_LOSS = Decimal(250)  # one losing exit this large → a timeout (the loss step trips it)
COOLDOWN = 900.0  # seconds at speed 1


@dataclass(frozen=True, slots=True)
class DemoLimits:
    """The numbers of one demo run, after scaling by speed."""

    grace: float
    cooldown: float

    @classmethod
    def for_speed(cls, speed: float) -> DemoLimits:
        return cls(grace=NO_STOP_GRACE / speed, cooldown=COOLDOWN / speed)


def _seconds(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".") + "s"


def demo_config_data(sim_url: str, api_port: int, db_path: Path, speed: float) -> dict[str, Any]:
    limits = DemoLimits.for_speed(speed)
    return {
        "broker": {
            "api_url": sim_url,
            "user_hub_url": f"{sim_url}/hubs/user",
            "market_hub_url": f"{sim_url}/hubs/market",
            "username": SIM_USERNAME,
            "api_key": SIM_API_KEY,
        },
        "accounts": {"mode": "all", "list": []},
        "rules": {
            "max_contracts": {
                "enabled": True,
                "limit": MAX_CONTRACTS,
                "count": "gross",
                "micro_weight": 1,  # the demo trades micros: count each as a whole contract
            },
            "no_stop_loss_grace": {"enabled": True, "grace": _seconds(limits.grace)},
            "daily_net_loss": {
                "enabled": True,
                "warn_at": Decimal("0.5"),
                "limit": LOSS_LIMIT,
                "trailing": False,
            },
            "cooldown_after_loss": {
                "enabled": True,
                "tiers": [{"loss": COOLDOWN_LOSS, "cooldown": _seconds(limits.cooldown)}],
                "flatten": True,
            },
            "symbol_blocks": {
                "enabled": True,
                "blocked": [BLOCKED_SYMBOL],
                "close_existing": True,
            },
            # Off so the demo behaves the same at any hour and on any day.
            "session_block_outside": {"enabled": False},
            "trailing_drawdown": {"enabled": False},
            "auth_loss_guard": {"enabled": True, "max_gap": "30s", "on_gap": "alert"},
        },
        "store": {"path": str(db_path)},
        "api": {"host": "127.0.0.1", "port": api_port},
        "alerts": {"log": True},
        "logging": {
            "level": "INFO",
            "format": "text",
            "enforcement_file": str(db_path.parent / "enforcement.log"),  # docs/LOGGING.md
        },
    }


def write_demo_config(
    path: Path, sim_url: str, api_port: int, db_path: Path, speed: float
) -> Config:
    """Write the demo config to ``path`` and return it parsed (the same check `run` does)."""
    header = (
        "# Written by `risk-manager demo`: the daemon's config for this demo run.\n"
        "# The broker is the local simulator; its username and key are not secrets.\n"
    )
    text = header + dump_yaml(demo_config_data(sim_url, api_port, db_path, speed))
    path.write_text(text, encoding="utf-8")
    return parse_config(text, str(path), env={})
