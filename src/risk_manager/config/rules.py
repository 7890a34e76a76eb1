"""The rule book's rules (RULES.md §3) as typed, frozen config models, one per rule.

Field names are the rule book's key names. Every rule has ``enabled`` (default false) and
``warn_at``; every other key has the rule book's default, so a YAML block may give only some
keys. A rule's required amount (``limit`` / ``target`` / ``max_drawdown``) may be absent only
while the rule is disabled: the engine can rely on it being set on every enabled rule.
"""

from __future__ import annotations

from datetime import time, timedelta
from decimal import Decimal
from typing import Annotated, ClassVar, Literal, TypeVar
from zoneinfo import ZoneInfo

from pydantic import (
    AfterValidator,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from risk_manager.config.bounds import (
    ContractCount,
    Cooldown,
    FillCount,
    Grace,
    MaxGap,
    Retries,
    RetryAfter,
    StageBefore,
    StaleMark,
    Ticks,
    TicksOrZero,
)
from risk_manager.config.durations import UntilSentinel
from risk_manager.config.types import (
    ClockTime,
    Day,
    Fraction,
    Frozen,
    Money,
    NonNegativeMoney,
    PositiveDecimal,
    Tighter,
    TimeZoneName,
    Weekday,
)

_T = TypeVar("_T")


def _required_if_enabled(value: _T | None, info: ValidationInfo) -> _T | None:
    if value is None and info.data.get("enabled") is True:
        raise PydanticCustomError("required_when_enabled", "is required when the rule is enabled")
    return value


EnabledMoney = Annotated[
    Money | None, AfterValidator(_required_if_enabled), Field(validate_default=True)
]
"""A positive amount that must be set when the rule is enabled."""

EnabledCount = Annotated[
    ContractCount | None, AfterValidator(_required_if_enabled), Field(validate_default=True)
]


Unit = Literal["money", "contracts", "fills", "none"]
"""What a rule's measured value and limit count: dollars, contracts, fills, or nothing."""


class RuleConfig(Frozen):
    """What every rule shares, and the one place each rule's metadata lives (every list of
    rules in the code is derived from these class variables; tests/test_rule_registry.py checks
    the docs agree): ``rule_id`` and ``key`` name the rule in actions, locks and the config;
    ``title`` is what the dashboards call it; ``unit`` what its value counts; ``locks_for_loss``
    whether its breach locks the account for a loss (the views show the room left to it);
    ``bench`` enabled settings that exercise it without breaching (``bench engine``);
    ``tighter`` which way each setting tightens the rule (a change that is not provably a
    tightening waits for ``admin.loosen_delay``)."""

    rule_id: ClassVar[str] = ""
    key: ClassVar[str] = ""
    title: ClassVar[str] = ""
    unit: ClassVar[Unit] = "none"
    locks_for_loss: ClassVar[bool] = False
    bench: ClassVar[dict[str, object]] = {}
    # Which way each setting tightens (merged over these; config/tightening.py).
    tighter: ClassVar[dict[str, Tighter]] = {"enabled": "on", "warn_at": "lower"}

    enabled: bool = False
    warn_at: Fraction | None = None  # alert when the measured value crosses this share

    def settings_text(self) -> str:
        """``limit=1000 include_fees=true``: the rule's settings on one line (unset left out)."""
        settings = self.model_dump(mode="json", exclude={"enabled"}, exclude_none=True)
        return " ".join(f"{key}={_compact(value)}" for key, value in settings.items())


def _compact(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_compact(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_compact(item) for item in value) + "]"
    return str(value)


Scope = Literal["per_position", "total"]


class MaxContracts(RuleConfig):
    rule_id: ClassVar[str] = "RULE-001"
    key: ClassVar[str] = "max_contracts"
    title: ClassVar[str] = "Max contracts"
    unit: ClassVar[Unit] = "contracts"
    bench: ClassVar[dict[str, object]] = {"enabled": True, "limit": 50, "warn_at": 0.9}
    tighter: ClassVar[dict[str, Tighter]] = RuleConfig.tighter | {
        "limit": "lower",
        "count": ("gross", "net"),
        "micro_weight": "higher",
    }

    limit: EnabledCount = None
    count: Literal["gross", "net"] = "gross"
    micro_weight: Annotated[PositiveDecimal, Field(le=1)] = Decimal(
        "1.0"
    )  # 0.1: ten micros count as one mini


class MaxContractsPerInstrument(RuleConfig):
    rule_id: ClassVar[str] = "RULE-002"
    key: ClassVar[str] = "max_contracts_per_instrument"
    title: ClassVar[str] = "Max contracts per instrument"
    unit: ClassVar[Unit] = "contracts"
    bench: ClassVar[dict[str, object]] = {"enabled": True, "limits": {"NQ": 20, "ES": 20, "CL": 20}}
    tighter: ClassVar[dict[str, Tighter]] = RuleConfig.tighter | {
        "limits": "fewer_each",
        "unlisted": ("block", "allow"),
    }

    limits: dict[str, ContractCount] = Field(default_factory=dict)  # symbol → max |size|
    unlisted: Literal["allow", "block"] = "allow"

    @field_validator("limits")
    @classmethod
    def _upper_symbols(cls, value: dict[str, int]) -> dict[str, int]:
        return {symbol.strip().upper(): limit for symbol, limit in value.items()}


class DailyRealizedLoss(RuleConfig):
    rule_id: ClassVar[str] = "RULE-003"
    key: ClassVar[str] = "daily_realized_loss"
    title: ClassVar[str] = "Daily realized loss"
    unit: ClassVar[Unit] = "money"
    locks_for_loss: ClassVar[bool] = True
    bench: ClassVar[dict[str, object]] = {"enabled": True, "limit": 1_000_000, "warn_at": 0.8}
    tighter: ClassVar[dict[str, Tighter]] = RuleConfig.tighter | {
        "limit": "lower",
        "include_fees": "on",
    }

    limit: EnabledMoney = None
    include_fees: bool = True


class DailyUnrealizedLoss(RuleConfig):
    rule_id: ClassVar[str] = "RULE-004"
    key: ClassVar[str] = "daily_unrealized_loss"
    title: ClassVar[str] = "Daily unrealized loss"
    unit: ClassVar[Unit] = "money"
    bench: ClassVar[dict[str, object]] = {
        "enabled": True,
        "limit": 1_000_000,
        "scope": "per_position",
    }
    tighter: ClassVar[dict[str, Tighter]] = RuleConfig.tighter | {"limit": "lower"}

    limit: EnabledMoney = None
    scope: Scope = "per_position"


class MaxUnrealizedProfit(RuleConfig):
    rule_id: ClassVar[str] = "RULE-005"
    key: ClassVar[str] = "max_unrealized_profit"
    title: ClassVar[str] = "Max unrealized profit"
    unit: ClassVar[Unit] = "money"
    bench: ClassVar[dict[str, object]] = {"enabled": True, "target": 1_000_000, "scope": "total"}
    tighter: ClassVar[dict[str, Tighter]] = RuleConfig.tighter | {"target": "lower"}

    target: EnabledMoney = None
    scope: Scope = "per_position"


class FrequencyCooldowns(Frozen):
    """How long RULE-006 locks after each window's limit breaks."""

    per_minute: Cooldown = timedelta(seconds=60)
    per_hour: Cooldown = timedelta(minutes=30)
    per_session: Cooldown = UntilSentinel.RESET


class TradeFrequencyLimit(RuleConfig):
    rule_id: ClassVar[str] = "RULE-006"
    key: ClassVar[str] = "trade_frequency_limit"
    title: ClassVar[str] = "Trade frequency limit"
    unit: ClassVar[Unit] = "fills"
    bench: ClassVar[dict[str, object]] = {
        "enabled": True,
        "per_minute": 10_000,
        "per_hour": 100_000,
        "per_session": 1_000_000,
    }
    tighter: ClassVar[dict[str, Tighter]] = RuleConfig.tighter | {
        "per_minute": "lower",
        "per_hour": "lower",
        "per_session": "lower",
        "flatten": "on",
    }

    per_minute: FillCount | None = None  # fills allowed in the last 60 s
    per_hour: FillCount | None = None  # … in the last 60 min
    per_session: FillCount | None = None  # … in the trading day
    cooldown: FrequencyCooldowns = Field(default_factory=FrequencyCooldowns)
    flatten: bool = True

    @model_validator(mode="after")
    def _some_limit(self) -> TradeFrequencyLimit:
        if self.enabled and (self.per_minute, self.per_hour, self.per_session) == (None,) * 3:
            raise PydanticCustomError(
                "no_limit", "set at least one of per_minute, per_hour, per_session"
            )
        return self


class LossTier(Frozen):
    loss: Money  # one closing fill losing at least this much (net of its fees)
    cooldown: Cooldown


class CooldownAfterLoss(RuleConfig):
    rule_id: ClassVar[str] = "RULE-007"
    key: ClassVar[str] = "cooldown_after_loss"
    title: ClassVar[str] = "Cooldown after loss"
    unit: ClassVar[Unit] = "money"
    bench: ClassVar[dict[str, object]] = {
        "enabled": True,
        "tiers": [{"loss": 1_000_000, "cooldown": "5m"}],
    }
    tighter: ClassVar[dict[str, Tighter]] = RuleConfig.tighter | {"flatten": "on"}

    tiers: list[LossTier] = Field(default_factory=list, validate_default=True)
    flatten: bool = True

    @field_validator("tiers")
    @classmethod
    def _tiers_when_enabled(cls, value: list[LossTier], info: ValidationInfo) -> list[LossTier]:
        if not value and info.data.get("enabled") is True:
            raise PydanticCustomError("required_when_enabled", "give at least one tier")
        return value

    def tier_for(self, loss: Decimal) -> LossTier | None:
        """The largest tier a loss (a positive amount) reaches, or None."""
        matching = [tier for tier in self.tiers if loss >= tier.loss]
        return max(matching, key=lambda tier: tier.loss, default=None)


class NoStopLossGrace(RuleConfig):
    rule_id: ClassVar[str] = "RULE-008"
    key: ClassVar[str] = "no_stop_loss_grace"
    title: ClassVar[str] = "No stop-loss grace"
    unit: ClassVar[Unit] = "none"
    bench: ClassVar[dict[str, object]] = {"enabled": True, "grace": "30s"}
    tighter: ClassVar[dict[str, Tighter]] = RuleConfig.tighter | {"grace": "lower"}

    grace: Grace = timedelta(seconds=30)


class SessionWindow(Frozen):
    """A window starting at ``start`` on each of ``days``; it runs past midnight when
    ``end`` is not after ``start``."""

    start: ClockTime
    end: ClockTime
    days: list[Day] = Field(min_length=1)

    @property
    def overnight(self) -> bool:
        return self.end <= self.start


def _topstep_sessions() -> list[SessionWindow]:
    days = [Weekday.SUN, Weekday.MON, Weekday.TUE, Weekday.WED, Weekday.THU]
    return [SessionWindow(start=time(17, 0), end=time(15, 10), days=days)]


class SessionBlockOutside(RuleConfig):
    rule_id: ClassVar[str] = "RULE-009"
    key: ClassVar[str] = "session_block_outside"
    title: ClassVar[str] = "Session block outside"
    unit: ClassVar[Unit] = "none"
    bench: ClassVar[dict[str, object]] = {"enabled": True}
    tighter: ClassVar[dict[str, Tighter]] = RuleConfig.tighter | {
        "holidays": "on",
        "warn_before": "higher",
        "block_entries_before": "higher",
        "flatten_before": "higher",
    }

    timezone: TimeZoneName = "America/Chicago"
    sessions: list[SessionWindow] = Field(default_factory=_topstep_sessions, min_length=1)
    holidays: bool = True  # closed on the calendar's holidays
    warn_before: StageBefore = timedelta(minutes=15)  # 0s turns a stage off
    block_entries_before: StageBefore = timedelta(minutes=10)
    flatten_before: StageBefore = timedelta(minutes=5)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


class AuthLossGuard(RuleConfig):
    rule_id: ClassVar[str] = "RULE-010"
    key: ClassVar[str] = "auth_loss_guard"
    title: ClassVar[str] = "Auth loss guard"
    unit: ClassVar[Unit] = "none"
    bench: ClassVar[dict[str, object]] = {"enabled": True}
    tighter: ClassVar[dict[str, Tighter]] = RuleConfig.tighter | {
        "max_gap": "lower",
        "on_gap": ("flatten", "alert"),
    }

    max_gap: MaxGap = timedelta(seconds=30)
    on_gap: Literal["alert", "flatten"] = "alert"


class SymbolBlocks(RuleConfig):
    rule_id: ClassVar[str] = "RULE-011"
    key: ClassVar[str] = "symbol_blocks"
    title: ClassVar[str] = "Symbol blocks"
    unit: ClassVar[Unit] = "none"
    bench: ClassVar[dict[str, object]] = {"enabled": True, "blocked": ["RTY", "M2K"]}
    tighter: ClassVar[dict[str, Tighter]] = RuleConfig.tighter | {
        "blocked": "more_items",
        "close_existing": "on",
    }

    blocked: list[str] = Field(default_factory=list)  # shell-style patterns: RTY, CL*, M*
    close_existing: bool = True

    @field_validator("blocked")
    @classmethod
    def _upper_patterns(cls, value: list[str]) -> list[str]:
        return [pattern.strip().upper() for pattern in value]


class Breakeven(Frozen):
    trigger_ticks: Ticks  # profit in ticks that moves the stop
    offset_ticks: TicksOrZero = 0  # stop goes to entry + offset


class Trailing(Frozen):
    activate_ticks: TicksOrZero  # profit in ticks that starts trailing
    trail_ticks: Ticks  # distance behind the best price


class TradeManagement(RuleConfig):
    rule_id: ClassVar[str] = "RULE-012"
    key: ClassVar[str] = "trade_management"
    title: ClassVar[str] = "Trade management"
    unit: ClassVar[Unit] = "none"
    bench: ClassVar[dict[str, object]] = {
        "enabled": True,
        "stop_loss_ticks": 400,
        "take_profit_ticks": 400,
        "trailing": {"activate_ticks": 100_000, "trail_ticks": 40},
    }
    tighter: ClassVar[dict[str, Tighter]] = RuleConfig.tighter | {"stop_loss_ticks": "lower"}

    stop_loss_ticks: Ticks | None = None
    take_profit_ticks: Ticks | None = None
    breakeven: Breakeven | None = None
    trailing: Trailing | None = None

    @model_validator(mode="after")
    def _something_to_do(self) -> TradeManagement:
        keys = (self.stop_loss_ticks, self.take_profit_ticks, self.breakeven, self.trailing)
        if self.enabled and all(value is None for value in keys):
            raise PydanticCustomError(
                "no_setting",
                "set at least one of stop_loss_ticks, take_profit_ticks, breakeven, trailing",
            )
        return self


class DailyRealizedProfit(RuleConfig):
    rule_id: ClassVar[str] = "RULE-013"
    key: ClassVar[str] = "daily_realized_profit"
    title: ClassVar[str] = "Daily realized profit"
    unit: ClassVar[Unit] = "money"
    bench: ClassVar[dict[str, object]] = {"enabled": True, "target": 1_000_000}
    tighter: ClassVar[dict[str, Tighter]] = RuleConfig.tighter | {"target": "lower"}

    target: EnabledMoney = None
    include_fees: bool = True


class WeeklyRealizedLoss(RuleConfig):
    rule_id: ClassVar[str] = "RULE-014"
    key: ClassVar[str] = "weekly_realized_loss"
    title: ClassVar[str] = "Weekly realized loss"
    unit: ClassVar[Unit] = "money"
    locks_for_loss: ClassVar[bool] = True
    bench: ClassVar[dict[str, object]] = {"enabled": True, "limit": 1_000_000}
    tighter: ClassVar[dict[str, Tighter]] = RuleConfig.tighter | {
        "limit": "lower",
        "include_fees": "on",
    }

    limit: EnabledMoney = None
    include_fees: bool = True


class DailyNetLoss(RuleConfig):
    rule_id: ClassVar[str] = "RULE-015"
    key: ClassVar[str] = "daily_net_loss"
    title: ClassVar[str] = "Daily net loss"
    unit: ClassVar[Unit] = "money"
    locks_for_loss: ClassVar[bool] = True
    bench: ClassVar[dict[str, object]] = {
        "enabled": True,
        "limit": 1_000_000,
        "trailing": True,
        "warn_at": 0.9,
    }
    tighter: ClassVar[dict[str, Tighter]] = RuleConfig.tighter | {
        "limit": "lower",
        "trailing": "on",
    }

    limit: EnabledMoney = None
    trailing: bool = False  # measure from the day's peak net P&L


class TrailingDrawdown(RuleConfig):
    rule_id: ClassVar[str] = "RULE-016"
    key: ClassVar[str] = "trailing_drawdown"
    title: ClassVar[str] = "Maximum Loss Limit (trailing drawdown)"
    unit: ClassVar[Unit] = "money"
    locks_for_loss: ClassVar[bool] = True
    bench: ClassVar[dict[str, object]] = {
        "enabled": True,
        "max_drawdown": 1_000_000,
        "mode": "intraday",
    }
    tighter: ClassVar[dict[str, Tighter]] = RuleConfig.tighter | {
        "max_drawdown": "lower",
        "mode": ("intraday", "end_of_day"),
    }

    max_drawdown: EnabledMoney = None
    mode: Literal["end_of_day", "intraday"] = "end_of_day"
    starting_balance: Money | None = None  # the floor freezes here when freeze_at_start
    freeze_at_start: bool = True
    buffer: NonNegativeMoney = Decimal(0)


RULE_MODELS: tuple[type[RuleConfig], ...] = tuple(
    sorted(RuleConfig.__subclasses__(), key=lambda model: model.rule_id)
)
"""Every rule model, in rule-id order."""

RULE_KEYS: tuple[str, ...] = tuple(model.key for model in RULE_MODELS)


class RulesConfig(Frozen):
    """The ``rules:`` section: every rule under its key, plus engine-wide settings (§1, §4)."""

    max_contracts: MaxContracts = Field(default_factory=MaxContracts)
    max_contracts_per_instrument: MaxContractsPerInstrument = Field(
        default_factory=MaxContractsPerInstrument
    )
    daily_realized_loss: DailyRealizedLoss = Field(default_factory=DailyRealizedLoss)
    daily_unrealized_loss: DailyUnrealizedLoss = Field(default_factory=DailyUnrealizedLoss)
    max_unrealized_profit: MaxUnrealizedProfit = Field(default_factory=MaxUnrealizedProfit)
    trade_frequency_limit: TradeFrequencyLimit = Field(default_factory=TradeFrequencyLimit)
    cooldown_after_loss: CooldownAfterLoss = Field(default_factory=CooldownAfterLoss)
    no_stop_loss_grace: NoStopLossGrace = Field(default_factory=NoStopLossGrace)
    session_block_outside: SessionBlockOutside = Field(default_factory=SessionBlockOutside)
    auth_loss_guard: AuthLossGuard = Field(default_factory=AuthLossGuard)
    symbol_blocks: SymbolBlocks = Field(default_factory=SymbolBlocks)
    trade_management: TradeManagement = Field(default_factory=TradeManagement)
    daily_realized_profit: DailyRealizedProfit = Field(default_factory=DailyRealizedProfit)
    weekly_realized_loss: WeeklyRealizedLoss = Field(default_factory=WeeklyRealizedLoss)
    daily_net_loss: DailyNetLoss = Field(default_factory=DailyNetLoss)
    trailing_drawdown: TrailingDrawdown = Field(default_factory=TrailingDrawdown)

    # Which way the engine-wide settings tighten (config/tightening.py).
    tighter: ClassVar[dict[str, Tighter]] = {"stale_mark": "lower", "retry_after": "lower"}

    # engine-wide
    mark: Literal["last", "bid_ask"] = "last"  # price that values open positions
    stale_mark: StaleMark = timedelta(seconds=10)  # an open position without a mark → alert
    retry_after: RetryAfter = timedelta(seconds=2)  # re-propose an unconfirmed action after
    max_retries: Retries = 3  # then escalate as a critical alert

    def all_rules(self) -> list[RuleConfig]:
        """Every rule's config, in rule-id order."""
        return [self.rule(key) for key in RULE_KEYS]

    def enabled_rules(self) -> list[RuleConfig]:
        """The enabled rules' configs, in rule-id order."""
        return [rule for rule in self.all_rules() if rule.enabled]

    def rule(self, key: str) -> RuleConfig:
        """A rule's config by its key (``"daily_realized_loss"``); KeyError if unknown."""
        if key not in RULE_KEYS:
            raise KeyError(f"unknown rule {key!r}; rules are: {', '.join(RULE_KEYS)}")
        value = getattr(self, key)
        assert isinstance(value, RuleConfig)
        return value
