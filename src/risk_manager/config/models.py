"""The root config model: every setting and default of risk-manager, typed and frozen.

A file may give any subset of sections; replay reads only ``trading_day``, ``rules`` and
``contracts``, so a file with just those validates. Broker credentials are checked only when
the daemon runs (:meth:`Config.require_broker_credentials`).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import (
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    ValidatorFunctionWrapHandler,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from risk_manager.config.dump import dump_yaml
from risk_manager.config.rules import RulesConfig
from risk_manager.config.sections import (
    AccountsConfig,
    AdminConfig,
    AlertsConfig,
    ApiConfig,
    BackupConfig,
    BrokerConfig,
    ContractOverride,
    LoggingConfig,
    ReconcileConfig,
    RetentionConfig,
    StoreConfig,
    TradingDayConfig,
)
from risk_manager.config.symbols import symbol_problems
from risk_manager.config.types import Frozen
from risk_manager.domain.contracts import DEFAULT_CATALOG, ContractCatalog

MASK = "********"


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` laid over ``base``: mappings merge key by key, anything else replaces."""
    merged = dict(base)
    for key, value in override.items():
        old = merged.get(key)
        if isinstance(old, Mapping) and isinstance(value, Mapping):
            merged[key] = deep_merge(old, value)
        else:
            merged[key] = value
    return merged


class Config(Frozen):
    """The whole config file. Build it with :func:`risk_manager.config.loader.load_config`."""

    broker: BrokerConfig = Field(default_factory=BrokerConfig)
    accounts: AccountsConfig = Field(default_factory=AccountsConfig)
    trading_day: TradingDayConfig = Field(default_factory=TradingDayConfig)
    rules: RulesConfig = Field(default_factory=RulesConfig)
    contracts: list[ContractOverride] = Field(default_factory=list)
    store: StoreConfig = Field(default_factory=StoreConfig)
    backup: BackupConfig = Field(default_factory=BackupConfig)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    api: ApiConfig = Field(default_factory=ApiConfig)
    reconcile: ReconcileConfig = Field(default_factory=ReconcileConfig)
    alerts: AlertsConfig = Field(default_factory=AlertsConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)
    admin: AdminConfig = Field(default_factory=AdminConfig)

    _account_rules: dict[int, RulesConfig] = PrivateAttr(default_factory=dict)

    @model_validator(mode="wrap")
    @classmethod
    def _with_account_rules(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Config:
        """Validate the file, then each account's rules merged onto the global ones, and
        report every problem of both at once (with the account's key path)."""
        errors: list[Any] = []
        config: Config | None = None
        try:
            config = handler(data)
        except ValidationError as exc:
            errors.extend(exc.errors(include_url=False))
        merged: dict[int, RulesConfig] = {}
        global_locs = {tuple(error["loc"]) for error in errors}
        for index, account_id, rules_raw in _account_overrides(data):
            prefix: tuple[str | int, ...] = ("accounts", "list", index, "rules")
            try:
                merged[account_id] = RulesConfig.model_validate(rules_raw)
            except ValidationError as exc:
                for error in exc.errors(include_url=False):
                    if ("rules", *error["loc"]) in global_locs:
                        continue  # already reported once under `rules.`
                    errors.append({**error, "loc": prefix + tuple(error["loc"])})
        if config is not None:
            catalog = config.catalog()
            scopes = [(("rules",), config.rules)] + [
                (("accounts", "list", index, "rules"), merged[account_id])
                for index, account_id, _ in _account_overrides(data)
                if account_id in merged
            ]
            for prefix, rules in scopes:
                for loc, msg, key in symbol_problems(rules, catalog):
                    errors.append(
                        {"type": "unknown_symbol", "msg": msg, "loc": prefix + loc, "input": key}
                    )
        if errors or config is None:
            raise ValidationError.from_exception_data(cls.__name__, [_rebuild(e) for e in errors])
        config._account_rules = merged
        return config

    def rules_for(self, account_id: int) -> RulesConfig:
        """The effective rules of an account: its overrides merged onto the global rules."""
        return self._account_rules.get(account_id, self.rules)

    def shared_size_problems(self) -> list[str]:
        """Values that depend on an account's size but would be shared by accounts of
        different sizes (docs/CONFIG.md "Per-account values"): a global
        ``rules.trailing_drawdown.starting_balance`` with ``accounts.mode: all`` (every
        account the key sees gets it: a 100K account's floor would sit at 48,000), or one
        inherited by more than one listed account. The daemon and ``config check`` refuse
        them; a replay (one account) does not ask."""
        start = self.rules.trailing_drawdown.starting_balance
        if start is None:
            return []
        key = "rules.trailing_drawdown.starting_balance"
        fix = (
            "set it per account under accounts.list[].rules.trailing_drawdown."
            "starting_balance, or leave it out to use each account's first balance seen"
        )
        if self.accounts.mode == "all":
            return [
                f"{key}: {start} would apply to every account the login can see, whatever "
                f"its size (accounts.mode: all); {fix}"
            ]
        sharing = [
            entry.label
            for entry in self.accounts.list
            if "starting_balance" not in (entry.rules.get("trailing_drawdown") or {})
        ]
        if len(sharing) > 1:
            return [f"{key}: {start} would be shared by accounts {', '.join(sharing)}; {fix}"]
        return []

    def guards(self, account_id: int) -> bool:
        """Whether this account is guarded: every account in ``all`` mode, the listed ones
        otherwise; an entry with ``enabled: false`` is not guarded in either mode."""
        entry = self.accounts.entry(account_id)
        if entry is not None:
            return entry.enabled
        return self.accounts.mode == "all"

    def catalog(self) -> ContractCatalog:
        """The built-in contract catalog with ``contracts:`` added or overriding."""
        return DEFAULT_CATALOG.with_overrides([entry.to_spec() for entry in self.contracts])

    def require_broker_credentials(self) -> None:
        """Raise :class:`ConfigError` unless the daemon has what it needs to log in."""
        self.broker.credentials()

    def masked_dict(self) -> dict[str, Any]:
        """The effective config as plain data (money kept as exact Decimals), every secret
        replaced by ``MASK``. It validates again into an equal config (but for the secrets)."""
        plain = _plain(self.model_dump(mode="python"))
        assert isinstance(plain, dict)
        return plain

    def masked_yaml(self) -> str:
        """:meth:`masked_dict` as YAML, for ``config show``."""
        return dump_yaml(self.masked_dict())


def _account_overrides(data: Any) -> list[tuple[int, int, dict[str, Any]]]:
    """(index, id, merged raw rules) of each well-formed account entry with overrides."""
    if not isinstance(data, Mapping):
        return []
    accounts = data.get("accounts")
    entries = accounts.get("list") if isinstance(accounts, Mapping) else None
    if not isinstance(entries, list):
        return []
    global_rules = data.get("rules")
    base = global_rules if isinstance(global_rules, Mapping) else {}
    found = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            continue
        override, account_id = entry.get("rules"), entry.get("id")
        if isinstance(override, Mapping) and override and isinstance(account_id, int):
            found.append((index, account_id, deep_merge(base, override)))
    return found


def _rebuild(error: Mapping[str, Any]) -> InitErrorDetails:
    """A caught pydantic error made raisable again, keeping its type, message and location."""
    context = {**(error.get("ctx") or {}), "msg": error["msg"]}
    return InitErrorDetails(
        type=PydanticCustomError(error["type"], "{msg}", context),
        loc=tuple(error["loc"]),
        input=error.get("input"),
    )


def _plain(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return MASK
    if isinstance(value, Mapping):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Decimal | str | int | float | bool) or value is None:
        return value
    return str(value)
