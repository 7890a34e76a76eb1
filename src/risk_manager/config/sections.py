"""The config file's sections other than ``rules:`` (see :mod:`risk_manager.config.models`)."""

from __future__ import annotations

from datetime import time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    Field,
    PositiveInt,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from risk_manager.config.bounds import KeepUndelivered
from risk_manager.config.errors import ConfigError
from risk_manager.config.types import (
    ClockTime,
    Day,
    Frozen,
    NonNegativeMoney,
    PositiveDecimal,
    TimeZoneName,
    Weekday,
)
from risk_manager.domain.contracts import DEFAULT_CATALOG, ContractSpec, spec_with


def _check_url(value: str) -> str:
    if not value.startswith(("http://", "https://")):
        raise ValueError(f"must be an http:// or https:// URL, got {value!r}")
    return value.rstrip("/")


def _blank_is_none(value: object) -> object:
    # `${VAR:-}` gives "": treat it as not set rather than as an empty credential.
    return None if isinstance(value, str) and not value.strip() else value


class BrokerConfig(Frozen):
    """The ProjectX Gateway to guard. Credentials are needed only when the daemon runs."""

    api_url: str = "https://api.topstepx.com"
    user_hub_url: str = "https://rtc.topstepx.com/hubs/user"
    market_hub_url: str = "https://rtc.topstepx.com/hubs/market"
    username: str | None = None
    api_key: SecretStr | None = None

    _urls = field_validator("api_url", "user_hub_url", "market_hub_url")(_check_url)
    _blank = field_validator("username", "api_key", mode="before")(_blank_is_none)

    def credentials(self) -> tuple[str, SecretStr]:
        """``(username, api_key)`` for the login; :class:`ConfigError` naming what is missing."""
        problems = []
        if not self.username:
            problems.append("broker.username: is required to run the daemon")
        if self.api_key is None or not self.api_key.get_secret_value():
            problems.append("broker.api_key: is required to run the daemon")
        if problems or self.username is None or self.api_key is None:
            raise ConfigError(problems)
        return self.username, self.api_key


class AccountEntry(Frozen):
    id: PositiveInt  # the gateway's account id
    name: str | None = None  # a label for screens and alerts
    # Partial rules merged key by key onto the global `rules:`; checked by Config.
    rules: dict[str, Any] = Field(default_factory=dict)

    @property
    def label(self) -> str:
        """``12345 (Combine)``, or the id alone when unnamed."""
        return f"{self.id} ({self.name})" if self.name else f"{self.id}"


AccountList = list[AccountEntry]


class AccountsConfig(Frozen):
    """Which accounts are guarded: ``all`` the login can see, or only those ``listed``."""

    mode: Literal["all", "listed"] = "all"
    list: AccountList = Field(default_factory=lambda: [])

    @model_validator(mode="after")
    def _check(self) -> AccountsConfig:
        seen: set[int] = set()
        for entry in self.list:
            if entry.id in seen:
                raise PydanticCustomError(
                    "duplicate_account", "account {id} is listed twice", {"id": entry.id}
                )
            seen.add(entry.id)
        if self.mode == "listed" and not self.list:
            raise PydanticCustomError(
                "no_accounts", "mode: listed needs at least one account under list"
            )
        return self

    def entry(self, account_id: int) -> AccountEntry | None:
        return next((entry for entry in self.list if entry.id == account_id), None)


class WeeklyReset(Frozen):
    day: Day = Weekday.SUN
    time: ClockTime = time(17, 0)


class TradingDayConfig(Frozen):
    """Where the trading day and week turn over (RULES.md §1)."""

    timezone: TimeZoneName = "America/Chicago"
    daily_reset: ClockTime = time(17, 0)
    weekly_reset: WeeklyReset = Field(default_factory=WeeklyReset)


class ContractOverride(Frozen):
    """Adds a contract to the catalog or changes some fields of a known one."""

    symbol: str
    root: str | None = None
    description: str | None = None
    tick_size: PositiveDecimal | None = None
    tick_value: PositiveDecimal | None = None
    micro: bool | None = None
    fees: NonNegativeMoney | None = None  # per contract per side
    commissions: NonNegativeMoney | None = None  # per contract per side
    months: str | None = None  # listed month codes, e.g. HMUZ
    calendar: Literal["equity", "energy", "metals", "rates"] | None = None

    @field_validator("symbol", "root")
    @classmethod
    def _upper(cls, value: str | None) -> str | None:
        return value.strip().upper() if value is not None else None

    @model_validator(mode="after")
    def _new_needs_spec(self) -> ContractOverride:
        known = any(spec.symbol == self.symbol for spec in DEFAULT_CATALOG)
        missing = [
            name for name in ("root", "tick_size", "tick_value") if getattr(self, name) is None
        ]
        if not known and missing:
            raise PydanticCustomError(
                "new_contract",
                "{symbol} is not in the built-in catalog: give {missing}",
                {"symbol": self.symbol, "missing": ", ".join(missing)},
            )
        return self

    def to_spec(self) -> ContractSpec:
        """This override applied to the built-in spec of the symbol (or a new spec)."""
        changes = {
            name: value
            for name, value in self.model_dump(exclude={"symbol"}).items()
            if value is not None
        }
        try:
            base = DEFAULT_CATALOG.by_symbol(self.symbol)
        except LookupError:
            base = ContractSpec(
                symbol=self.symbol,
                root=str(changes.pop("root")),
                description=str(changes.pop("description", self.symbol)),
                tick_size=Decimal(changes.pop("tick_size")),
                tick_value=Decimal(changes.pop("tick_value")),
            )
        return spec_with(base, **changes)


class StoreConfig(Frozen):
    path: Path = Path("risk-manager.sqlite")  # SQLite file (relative to the config file)


class ReconcileConfig(Frozen):
    """Periodic reconciliation against silent streams (docs/RUNTIME.md): the share of the
    gateway's 200 REST requests / 60 s per key it may spend; its intervals follow from it."""

    share: float = Field(default=1 / 3, ge=0.05, le=0.8, allow_inf_nan=False)


class ApiConfig(Frozen):
    """The local HTTP/WebSocket API the dashboards read."""

    host: str = "127.0.0.1"
    port: int = Field(default=8765, ge=0, le=65535)
    # On each new lock the web dashboard plays a tone and shows a desktop notification (once
    # the viewer allows it), the terminal dashboard rings its bell. Off by default.
    notify_on_lock: bool = False


class AlertsConfig(Frozen):
    """Where alerts go (docs/RUNTIME.md "Alert delivery"): the log at once, and each one to the
    webhook through the store's outbox, retried until delivered or ``keep_undelivered`` old."""

    log: bool = True  # write alerts to the log
    webhook_url: SecretStr | None = None  # POST each alert as JSON; the URL often holds a token
    keep_undelivered: KeepUndelivered = timedelta(hours=24)  # then given up, with an ERROR line

    _blank = field_validator("webhook_url", mode="before")(_blank_is_none)

    @field_validator("webhook_url")
    @classmethod
    def _webhook_is_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")  # the URL itself is secret
        return value


class LoggingConfig(Frozen):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    format: Literal["json", "text"] = "json"

    @field_validator("level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value
