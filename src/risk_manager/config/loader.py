"""Reading a config file: YAML (safe), ``${ENV}`` substitution, validation into :class:`Config`.

Every problem found is reported at once in one :class:`ConfigError`, each naming its key path.
Messages never carry a value read from the file or the environment, so secrets stay out of them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import SecretStr, ValidationError

from risk_manager.config.credentials import decrypt_secret, read_kek
from risk_manager.config.errors import ConfigError, format_loc, problems_of
from risk_manager.config.models import Config

_ENV_REF = re.compile(r"\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")
_ESCAPED = "$${"  # writes a literal "${"

_INT = re.compile(
    r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"
)
_FLOAT = re.compile(
    r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?
    |\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)


class _ConfigLoader(yaml.SafeLoader):
    """SafeLoader without YAML 1.1's base-60 numbers (an unquoted ``17:00`` stays the string
    "17:00", not 1020) and refusing duplicate keys (the later one would silently win)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        self.flatten_mapping(node)
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    "while reading a mapping",
                    node.start_mark,
                    f"duplicate key {key!r}",
                    key_node.start_mark,
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_ConfigLoader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_ConfigLoader.add_implicit_resolver("tag:yaml.org,2002:int", _INT, list("-+0123456789"))
_ConfigLoader.add_implicit_resolver("tag:yaml.org,2002:float", _FLOAT, list("-+0123456789."))


def load_config(
    path: str | Path,
    env: Mapping[str, str] | None = None,
    sections: Collection[str] | None = None,
) -> Config:
    """Read, substitute and validate a config file; raise :class:`ConfigError` on any problem.

    ``sections``: read only these top-level sections; the others are ignored unchecked."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{source}: no such file"], source) from None
    except OSError as exc:
        raise ConfigError([f"{source}: cannot read ({exc.strerror})"], source) from None
    config = relative_to_file(parse_config(text, source, env, sections), Path(path))
    try:
        return with_decrypted_key(config, env)
    except ConfigError as exc:
        raise ConfigError(exc.problems, source) from None


def _beside(path: Path | None, default: str, config_file: Path) -> Path:
    chosen = (path or Path(default)).expanduser()
    if chosen.is_absolute() or str(chosen) == ":memory:":
        return chosen
    return (config_file.parent / chosen).absolute()


def relative_to_file(config: Config, path: Path) -> Config:
    """A relative ``store.path`` (and the admin files, the log files, the backup folder) is
    read from the config file's folder, not the working directory: a daemon started from
    another folder must open the same store (its locks) and write the same logs and backups;
    a leading ``~`` is the user's home, never a folder named ~. ``admin.password_file`` and
    ``admin.key_file`` get their defaults here."""

    def resolve(value: Path | None) -> Path | None:
        return None if value is None else _beside(value, "", path)

    admin = config.admin.model_copy(
        update={
            "password_file": _beside(config.admin.password_file, "admin.pwd", path),
            "key_file": _beside(config.admin.key_file, "admin.key", path),
        }
    )
    logs = config.logging
    return config.model_copy(
        update={
            "store": config.store.model_copy(update={"path": _beside(config.store.path, "", path)}),
            "admin": admin,
            "backup": config.backup.model_copy(update={"dir": resolve(config.backup.dir)}),
            "logging": logs.model_copy(
                update={
                    "file": resolve(logs.file),
                    "enforcement_file": resolve(logs.enforcement_file),
                }
            ),
        }
    )


def with_decrypted_key(config: Config, env: Mapping[str, str] | None = None) -> Config:
    """``broker.api_key`` decrypted from ``broker.api_key_encrypted`` when the file holds the
    encrypted form (config/credentials.py); the config unchanged otherwise. Raises
    :class:`ConfigError` when it cannot be decrypted (no KEK, another KEK, altered)."""
    sealed = config.broker.api_key_encrypted
    if sealed is None:
        return config
    key_file = config.admin.key_file or Path("admin.key")
    plain = decrypt_secret(sealed.get_secret_value(), read_kek(key_file, env))
    broker = config.broker.model_copy(update={"api_key": SecretStr(plain)})
    return config.model_copy(update={"broker": broker})


def parse_config(
    text: str,
    source: str = "<config>",
    env: Mapping[str, str] | None = None,
    sections: Collection[str] | None = None,
    *,
    require_env: bool = True,
) -> Config:
    """Validate config text. ``env`` defaults to the process environment; ``sections`` as in
    :func:`load_config`. ``require_env=False`` accepts unset ``${VAR}`` references (an admin
    edit checked in a shell that lacks the daemon's environment): their values are not
    checked."""
    data = read_yaml(text, source)
    if sections is not None:
        data = {key: value for key, value in data.items() if key in sections}
    environment = os.environ if env is None else env
    missing: list[tuple[tuple[str | int, ...], str]] = []
    data = substitute_env(data, environment, missing)
    problems = [
        f"{format_loc(loc)}: environment variable {name} is not set (used as ${{{name}}}; "
        f"set it or write ${{{name}:-default}})"
        for loc, name in missing
        if require_env
    ]
    missing_paths = {format_loc(loc) for loc, _ in missing}
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_input=False)
        # A value left empty by a missing variable is reported once, as the variable.
        problems += [p for p in problems_of(errors) if p.split(": ", 1)[0] not in missing_paths]
        raise ConfigError(problems, source) from None
    if problems:
        raise ConfigError(problems, source)
    return config


def read_yaml(text: str, source: str = "<config>") -> dict[str, Any]:
    """The YAML mapping in ``text``; syntax errors name line and column (never the line's text)."""
    try:
        # _ConfigLoader is a yaml.SafeLoader subclass: no object is ever constructed from tags.
        data = yaml.load(text, Loader=_ConfigLoader)  # noqa: S506  # nosec B506
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        what = exc.problem or exc.context or "invalid YAML"
        raise ConfigError([f"{where}YAML syntax error: {what}"], source) from None
    except yaml.YAMLError:
        raise ConfigError(["YAML syntax error"], source) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            ["(top level): must be a mapping of sections (broker:, rules:, …)"], source
        )
    return data


def substitute_env(
    value: Any,
    env: Mapping[str, str],
    missing: list[tuple[tuple[str | int, ...], str]],
    loc: tuple[str | int, ...] = (),
) -> Any:
    """``${NAME}`` / ``${NAME:-default}`` in every string value replaced from ``env``.

    Substitution happens on parsed values, so a variable's content is never read as YAML.
    Unset variables without a default are appended to ``missing`` with their key path and
    replaced by the empty string.
    """
    if isinstance(value, dict):
        return {key: substitute_env(item, env, missing, (*loc, key)) for key, item in value.items()}
    if isinstance(value, list):
        return [substitute_env(item, env, missing, (*loc, i)) for i, item in enumerate(value)]
    if not isinstance(value, str) or "${" not in value:
        return value

    def replace(match: re.Match[str]) -> str:
        name, default = match["name"], match["default"]
        if name in env:
            return env[name]
        if default is not None:
            return default
        missing.append((loc, name))
        return ""

    parts = value.split(_ESCAPED)
    return "${".join(_ENV_REF.sub(replace, part) for part in parts)
