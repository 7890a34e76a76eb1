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


class RuleConfig(Frozen):
    """What every rule shares. ``rule_id`` and ``key`` name the rule in actions and locks."""

    rule_id: ClassVar[str] = ""
    key: ClassVar[str] = ""

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

    limit: EnabledCount = None
    count: Literal["gross", "net"] = "gross"
    micro_weight: Annotated[PositiveDecimal, Field(le=1)] = Decimal(
        "1.0"
    )  # 0.1: ten micros count as one mini


class MaxContractsPerInstrument(RuleConfig):
    rule_id: ClassVar[str] = "RULE-002"
    key: ClassVar[str] = "max_contracts_per_instrument"

    limits: dict[str, ContractCount] = Field(default_factory=dict)  # symbol → max |size|
    unlisted: Literal["allow", "block"] = "allow"

    @field_validator("limits")
    @classmethod
    def _upper_symbols(cls, value: dict[str, int]) -> dict[str, int]:
        return {symbol.strip().upper(): limit for symbol, limit in value.items()}


class DailyRealizedLoss(RuleConfig):
    rule_id: ClassVar[str] = "RULE-003"
    key: ClassVar[str] = "daily_realized_loss"

    limit: EnabledMoney = None
    include_fees: bool = True


class DailyUnrealizedLoss(RuleConfig):
    rule_id: ClassVar[str] = "RULE-004"
    key: ClassVar[str] = "daily_unrealized_loss"

    limit: EnabledMoney = None
    scope: Scope = "per_position"


class MaxUnrealizedProfit(RuleConfig):
    rule_id: ClassVar[str] = "RULE-005"
    key: ClassVar[str] = "max_unrealized_profit"

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

    max_gap: MaxGap = timedelta(seconds=30)
    on_gap: Literal["alert", "flatten"] = "alert"


class SymbolBlocks(RuleConfig):
    rule_id: ClassVar[str] = "RULE-011"
    key: ClassVar[str] = "symbol_blocks"

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

    target: EnabledMoney = None
    include_fees: bool = True


class WeeklyRealizedLoss(RuleConfig):
    rule_id: ClassVar[str] = "RULE-014"
    key: ClassVar[str] = "weekly_realized_loss"

    limit: EnabledMoney = None
    include_fees: bool = True


class DailyNetLoss(RuleConfig):
    rule_id: ClassVar[str] = "RULE-015"
    key: ClassVar[str] = "daily_net_loss"

    limit: EnabledMoney = None
    trailing: bool = False  # measure from the day's peak net P&L


class TrailingDrawdown(RuleConfig):
    rule_id: ClassVar[str] = "RULE-016"
    key: ClassVar[str] = "trailing_drawdown"

    max_drawdown: EnabledMoney = None
    mode: Literal["end_of_day", "intraday"] = "end_of_day"
    starting_balance: Money | None = None  # the floor freezes here when freeze_at_start
    freeze_at_start: bool = True
    buffer: NonNegativeMoney = Decimal(0)


RULE_MODELS: tuple[type[RuleConfig], ...] = (
    MaxContracts,
    MaxContractsPerInstrument,
    DailyRealizedLoss,
    DailyUnrealizedLoss,
    MaxUnrealizedProfit,
    TradeFrequencyLimit,
    CooldownAfterLoss,
    NoStopLossGrace,
    SessionBlockOutside,
    AuthLossGuard,
    SymbolBlocks,
    TradeManagement,
    DailyRealizedProfit,
    WeeklyRealizedLoss,
    DailyNetLoss,
    TrailingDrawdown,
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
