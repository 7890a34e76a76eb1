"""The config file's sections other than ``rules:`` (see :mod:`risk_manager.config.models`)."""

from __future__ import annotations

from datetime import time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import (
    Field,
    PositiveInt,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from risk_manager.config.bounds import (
    AdminDelay,
    AlertDedupe,
    AlertWindow,
    BackupEvery,
    HolidaysWithin,
    HubDownAfter,
    KeepHistory,
    KeepUndelivered,
    LogRotateAge,
    WatchEvery,
)
from risk_manager.config.errors import ConfigError
from risk_manager.config.types import (
    ClockTime,
    Day,
    Frozen,
    NonNegativeMoney,
    PositiveDecimal,
    Tighter,
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

    api_url: str = "https://api.topstepx.com"  # the gateway's REST base
    user_hub_url: str = "https://rtc.topstepx.com/hubs/user"  # order, position, trade events
    market_hub_url: str = "https://rtc.topstepx.com/hubs/market"  # quotes that value positions
    username: str | None = None  # the TopstepX login, e.g. ${PROJECTX_USERNAME}
    api_key: SecretStr | None = None  # TopstepX → Settings → API, e.g. ${PROJECTX_API_KEY}
    # The key sealed by `admin credentials set` (config/credentials.py); the loader decrypts it
    # into api_key. Kept secret too: a ciphertext is not for screens.
    api_key_encrypted: SecretStr | None = None

    _urls = field_validator("api_url", "user_hub_url", "market_hub_url")(_check_url)
    _blank = field_validator("username", "api_key", "api_key_encrypted", mode="before")(
        _blank_is_none
    )

    @model_validator(mode="after")
    def _one_key(self) -> BrokerConfig:
        if self.api_key_encrypted is not None and self.api_key is not None:
            raise PydanticCustomError(
                "two_api_keys",
                "give api_key or api_key_encrypted, not both (admin credentials set writes "
                "the encrypted one and removes the other)",
            )
        return self

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
    enabled: bool = True  # False: listed but not guarded (`admin accounts disable`)
    # Partial rules merged key by key onto the global `rules:`; checked by Config.
    rules: dict[str, Any] = Field(default_factory=dict)  # laid over `rules:` key by key

    @property
    def label(self) -> str:
        """``12345 (Combine)``, or the id alone when unnamed."""
        return f"{self.id} ({self.name})" if self.name else f"{self.id}"


AccountList = list[AccountEntry]


class AccountsConfig(Frozen):
    """Which accounts are guarded: ``all`` the login can see, or only those ``listed``."""

    mode: Literal["all", "listed"] = "all"  # every account the login sees, or the list
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
    day: Day = Weekday.SUN  # the trading week turns over on this day
    time: ClockTime = time(17, 0)  # at this time


class TradingDayConfig(Frozen):
    """Where the trading day and week turn over (RULES.md §1)."""

    timezone: TimeZoneName = "America/Chicago"  # IANA name the reset times are in
    daily_reset: ClockTime = time(17, 0)  # the trading day turns over (RULES.md §1)
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
    """The SQLite file that keeps locks, fills and the journal across restarts."""

    path: Path = Path("risk-manager.sqlite")  # SQLite file (relative to the config file)


class BackupConfig(Frozen):
    """The daemon's automatic backups of the store (docs/BACKUP.md): a consistent copy (SQLite's
    online backup) every ``every``, the newest ``keep`` kept. ``dir``: where they go (relative
    to the config file's folder); unset, ``backups`` beside the store file."""

    enabled: bool = True
    dir: Path | None = None
    every: BackupEvery = timedelta(days=1)
    keep: int = Field(default=7, ge=1, le=1000)


class RetentionConfig(Frozen):
    """How long history rows are kept (docs/BACKUP.md "Retention"): older journal, fill and
    P&L snapshot rows are deleted once a day; never a row of the current trading day, an
    unfinished journal entry, or a row of an account's active lock (from the lock's start)."""

    enabled: bool = True
    journal: KeepHistory = timedelta(days=180)
    fills: KeepHistory = timedelta(days=180)
    snapshots: KeepHistory = timedelta(days=90)


class ReconcileConfig(Frozen):
    """Periodic reconciliation against silent streams (docs/RUNTIME.md): the share of the
    gateway's 200 REST requests / 60 s per key it may spend; its intervals follow from it."""

    share: float = Field(default=1 / 3, ge=0.05, le=0.8, allow_inf_nan=False)  # of the budget


class ApiConfig(Frozen):
    """The local HTTP/WebSocket API the dashboards read."""

    host: str = "127.0.0.1"  # loopback only; another host serves every account unauthenticated
    port: int = Field(default=8765, ge=0, le=65535)  # 0 picks a free port

    # On each new lock the web dashboard plays a tone and shows a desktop notification (once
    # the viewer allows it), the terminal dashboard rings its bell. Off by default.
    notify_on_lock: bool = False

    @property
    def url(self) -> str:
        """Where a client on this machine reaches the API (``http://host:port``): a wildcard
        bind answers on loopback too; an IPv6 address goes in brackets."""
        host = self.host
        if host in ("0.0.0.0", "::", ""):  # nosec B104 - a client's address, not a bind
            host = "127.0.0.1"
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"


AlertSeverity = Literal["info", "warning", "critical"]


class EmailConfig(Frozen):
    """The email alert channel (docs/ALERTS.md): SMTP with STARTTLS (``security: starttls``,
    port 587) or TLS from the first byte (``tls``, port 465); never in clear text. ``ca_file``
    adds a CA to trust (a relay with a private certificate)."""

    host: str
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "tls"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    sender: str  # the From: address
    to: list[str] = Field(min_length=1, max_length=50)
    ca_file: Path | None = None
    min_severity: AlertSeverity = "warning"  # less severe alerts are not mailed
    timeout: float = Field(default=20.0, ge=1.0, le=120.0, allow_inf_nan=False)  # seconds

    _blank = field_validator("username", "password", mode="before")(_blank_is_none)


class WatchConfig(Frozen):
    """The daemon's own alert rules (docs/ALERTS.md "Alert rules"): what it watches besides
    the trading rules, every ``every``."""

    every: WatchEvery = timedelta(seconds=10)
    hub_down_after: HubDownAfter = timedelta(seconds=60)  # a hub down longer: alerted
    max_memory_mb: int = Field(default=1024, ge=64, le=1_000_000)  # the process's RSS
    max_database_mb: int = Field(default=2048, ge=1, le=1_000_000)  # the store file and its WAL
    holidays_within: HolidaysWithin = timedelta(days=60)  # holiday data must reach this far


class AlertsConfig(Frozen):
    """Where alerts go (docs/ALERTS.md): the log at once, always; each one to the webhook
    through the store's outbox, retried until delivered or ``keep_undelivered`` old; to
    email and the desktop when configured, retried as long. Each channel but the log sends the
    same alert (rule, account, text) once per ``dedupe`` and at most ``rate_limit`` alerts of
    one rule per ``rate_window``."""

    log: bool = True  # write alerts to the log
    webhook_url: SecretStr | None = None  # POST each alert as JSON; the URL often holds a token
    webhook_format: Literal["generic", "slack", "discord"] = "generic"
    keep_undelivered: KeepUndelivered = timedelta(hours=24)  # then given up, with an ERROR line
    email: EmailConfig | None = None
    desktop: bool = False  # a desktop notification, where the platform has a notifier
    desktop_min_severity: AlertSeverity = "warning"
    dedupe: AlertDedupe = timedelta(minutes=10)
    rate_limit: int = Field(default=10, ge=1, le=1000)  # alerts of one rule per channel per window
    rate_window: AlertWindow = timedelta(minutes=10)
    watch: WatchConfig = Field(default_factory=WatchConfig)

    _blank = field_validator("webhook_url", mode="before")(_blank_is_none)

    @field_validator("webhook_url")
    @classmethod
    def _webhook_is_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")  # the URL itself is secret
        return value


LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


def _upper(value: object) -> object:
    return value.upper() if isinstance(value, str) else value


class LoggingConfig(Frozen):
    """The daemon's logs (docs/LOGGING.md): one line per record on stderr and, when ``file``
    is set, in a file rotated by size and by age; every lock, enforcement action, outcome,
    refusal and alert also in ``enforcement_file``. Relative paths are read from the config
    file's folder."""

    level: LogLevel = "INFO"
    format: Literal["json", "text"] = "json"
    levels: dict[str, LogLevel] = Field(default_factory=dict)  # per logger, e.g. aiohttp: ERROR
    file: Path | None = None  # the daemon log
    enforcement_file: Path | None = None  # locks, actions, outcomes, refusals, alerts
    max_bytes: int = Field(default=10_000_000, ge=10_000, le=1_000_000_000)  # rotate past this
    rotate_every: LogRotateAge = timedelta(days=1)  # rotate a file this old, even if small
    keep: int = Field(default=14, ge=1, le=1000)  # rotated files kept per log

    _upper_level = field_validator("level", mode="before")(_upper)

    @field_validator("levels", mode="before")
    @classmethod
    def _upper_levels(cls, value: object) -> object:
        if isinstance(value, dict):
            return {name: _upper(level) for name, level in value.items()}
        return value


class AdminConfig(Frozen):
    """Cooling-off for the admin's changes (docs/RULES.md §2 "Clearings and loosenings"): a
    lock the admin clears still holds for ``unlock_delay`` (a manual reset too), and a rule
    change that loosens takes effect only after ``loosen_delay``; tightening is immediate.
    Lowering either delay is itself a loosening (it waits for the delay in force)."""

    # Lowering a delay loosens (config/tightening.py).
    tighter: ClassVar[dict[str, Tighter]] = {"unlock_delay": "higher", "loosen_delay": "higher"}

    unlock_delay: AdminDelay = timedelta(0)
    loosen_delay: AdminDelay = timedelta(0)
    # The admin surface's files (docs/ADMIN.md): relative paths are read from the config
    # file's folder; unset, ``admin.pwd`` and ``admin.key`` beside the config file.
    password_file: Path | None = None  # the argon2id hash of the admin password (0600)
    key_file: Path | None = None  # the key-encryption key of broker.api_key_encrypted (0600)
