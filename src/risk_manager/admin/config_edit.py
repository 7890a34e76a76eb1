"""Admin edits of the config file (docs/ADMIN.md): a rule's setting, an account entry, the
sealed API key.

Each edit is made on the YAML's round-trip tree (ruamel.yaml: comments, order and quoting
kept), the new text is validated against the config models *before* anything is written, and
only then replaces the file atomically (temp file + ``os.replace``). A refused edit raises
:class:`EditRefused` with the models' reasons and leaves the file byte-for-byte unchanged.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import CommentMark, YAMLError
from ruamel.yaml.representer import RoundTripRepresenter
from ruamel.yaml.tokens import CommentToken

from risk_manager.config.credentials import encrypt_secret, kek_for_writing
from risk_manager.config.errors import ConfigError
from risk_manager.config.loader import parse_config, read_yaml, relative_to_file
from risk_manager.config.models import MASK, Config
from risk_manager.config.owner_file import replace_file
from risk_manager.config.rules import RULE_KEYS
from risk_manager.domain.errors import RiskManagerError

SECRET_KEYS = frozenset({"api_key", "api_key_encrypted", "webhook_url"})


class EditRefused(RiskManagerError):
    """An edit the config models (or the file's shape) refuse; ``reasons`` lists each."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__("; ".join(reasons))
        self.reasons = reasons


@dataclass(frozen=True)
class Edit:
    """What an edit changed: ``action`` (the audit's name), ``target`` (a key path), the
    values ``before`` and ``after`` (secrets masked)."""

    action: str
    target: str
    before: Any
    after: Any
    detail: dict[str, Any] = field(default_factory=dict)


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.preserve_quotes = True
    yaml.width = 4096  # never re-wrap a long line
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.representer.add_representer(type(None), _null)
    return yaml


def _null(representer: RoundTripRepresenter, _: None) -> Any:
    return representer.represent_scalar("tag:yaml.org,2002:null", "null")


def parse_value(text: str) -> Any:
    """A command-line VALUE read as YAML would read it in the file (``1000`` a number,
    ``true`` a boolean, ``15m`` a string, ``[ES, NQ]`` a list, ``{ES: 3}`` a mapping);
    :class:`EditRefused` for bad YAML."""
    try:
        return read_yaml(f"value: {text}")["value"]
    except ConfigError as exc:
        raise EditRefused([f"VALUE {text!r}: {p}" for p in exc.problems]) from None


def _mask(key: str, value: Any) -> Any:
    return MASK if key in SECRET_KEYS and value not in (None, "") else value


def _last_comment(node: Any) -> tuple[Any, Any] | None:
    """The (container, key) whose end-of-line comment ends ``node``'s text (it carries the
    blank lines after the block), going down into the last nested mapping or list item."""
    if isinstance(node, CommentedMap) and node:
        key = list(node)[-1]
        inner = _last_comment(node[key])
        return inner or (node, key)
    if isinstance(node, CommentedSeq) and node:
        return _last_comment(node[-1])
    return None


def _append(container: CommentedMap | CommentedSeq, key: Any, value: Any) -> None:
    """``container[key] = value`` (or append to a list) for a new key or item. ruamel keeps
    a block's following blank lines in its last comment: they move to the new last line, so
    the new line lands inside the block, not after its blank line."""
    blank = _take_blank_lines(container)
    if isinstance(container, CommentedSeq):
        container.append(value)
    else:
        container[key] = value
    if isinstance(value, CommentedMap | CommentedSeq) and value:
        _give_blank_lines(value, blank)
    elif blank and isinstance(container, CommentedMap):
        container.ca.items[key] = [None, None, CommentToken("\n" + blank, CommentMark(0)), None]


def _replace_key(mapping: CommentedMap, old: str, new: str, value: Any) -> None:
    """``old: ...`` replaced by ``new: value`` on the same line; the old comment goes (it
    described the old value), the blank lines after it stay."""
    position = list(mapping).index(old)
    comment = mapping.ca.items.pop(old, [None, None, None, None])[2]
    del mapping[old]
    mapping.pop(new, None)
    mapping.insert(position, new, value)
    if comment is not None and "\n" in comment.value:
        blank = comment.value.partition("\n")[2]
        if blank:
            mapping.ca.items[new] = [None, None, CommentToken("\n" + blank, CommentMark(0)), None]


def _take_blank_lines(node: Any) -> str:
    """The blank lines that end ``node``'s block (removed from it)."""
    found = _last_comment(node)
    if found is None:
        return ""
    owner, last = found
    token = owner.ca.items.get(last, [None, None, None, None])[2]
    if token is None or "\n" not in token.value:
        return ""
    text: str = token.value
    kept, _, blank = text.partition("\n")
    token.value = kept + "\n"
    return blank


def _give_blank_lines(node: Any, blank: str) -> None:
    """End ``node``'s block with ``blank`` (as :func:`_take_blank_lines` returned them)."""
    found = _last_comment(node)
    if not blank or found is None:
        return
    owner, last = found
    token = owner.ca.items.get(last, [None, None, None, None])[2]
    if token is None:
        owner.ca.items[last] = [None, None, CommentToken("\n" + blank, CommentMark(0)), None]
    else:
        token.value += blank


def _set_path(root: CommentedMap, path: list[str], value: Any) -> Any:
    """``root[path[0]]...[path[-1]] = value``, creating the missing mappings (attached in one
    piece, so the blank lines move below all of it); returns the value it replaced."""
    node = root
    for depth, key in enumerate(path[:-1]):
        child = node.get(key)
        if child is None:
            tail = value
            for name in reversed(path[depth + 1 :]):
                tail = CommentedMap([(name, tail)])
            _append(node, key, tail)
            return None
        if not isinstance(child, CommentedMap):
            raise EditRefused([f"{'.'.join(path[: depth + 1])}: is not a mapping in the file"])
        node = child
    before = node.get(path[-1])
    if path[-1] in node:
        node[path[-1]] = value
    else:
        _append(node, path[-1], value)
    return before


def _child(parent: CommentedMap, key: str) -> CommentedMap:
    node = parent.get(key)
    if node is None:
        node = CommentedMap()
        _append(parent, key, node)
    if not isinstance(node, CommentedMap):
        raise EditRefused([f"{key}: is not a mapping in the file"])
    return node


def _accounts(tree: CommentedMap) -> CommentedSeq:
    accounts = _child(tree, "accounts")
    entries = accounts.get("list")
    if entries is None:
        entries = CommentedSeq()
        _append(accounts, "list", entries)
    if not isinstance(entries, CommentedSeq):
        raise EditRefused(["accounts.list: is not a list in the file"])
    return entries


def _entry(tree: CommentedMap, account_id: int) -> CommentedMap:
    for entry in _accounts(tree):
        if isinstance(entry, CommentedMap) and entry.get("id") == account_id:
            return entry
    raise EditRefused([f"account {account_id} is not listed under accounts.list: add it first"])


class ConfigFile:
    """The config file an admin edits. ``env`` is the environment ``${VAR}`` references are
    read from when validating (unset ones are accepted: the daemon may have them)."""

    def __init__(self, path: Path, env: Mapping[str, str] | None = None) -> None:
        self.path = path
        self.env = env

    def load(self) -> Config:
        """The file's config as it validates now (unset ``${VAR}`` accepted)."""
        text = self._read()
        return relative_to_file(self._validate(text), self.path)

    def _read(self) -> str:
        try:
            return self.path.read_text(encoding="utf-8")
        except OSError as exc:
            raise EditRefused([f"{self.path}: cannot read ({exc.strerror or exc})"]) from None

    def _validate(self, text: str) -> Config:
        try:
            return parse_config(text, str(self.path), self.env, require_env=False)
        except ConfigError as exc:
            raise EditRefused(exc.problems) from None

    def _edit(self, change: Callable[[CommentedMap], Edit]) -> Edit:
        yaml = _yaml()
        original = self._read()
        try:
            tree = yaml.load(original) if original.strip() else CommentedMap()
        except YAMLError as exc:
            raise EditRefused([f"{self.path}: YAML syntax error ({type(exc).__name__})"]) from None
        if not isinstance(tree, CommentedMap):
            raise EditRefused([f"{self.path}: the top level is not a mapping of sections"])
        edit = change(tree)
        out = io.StringIO()
        yaml.dump(tree, out)
        text = out.getvalue()
        self._validate(text)  # raises before anything is written
        self._replace(text)
        return edit

    def _replace(self, text: str) -> None:
        replace_file(self.path, text.encode("utf-8"), self.path.stat().st_mode & 0o777)

    def set_rule(self, rule: str, key: str, value: Any, account_id: int | None = None) -> Edit:
        """``rules.RULE.KEY = value`` (or the account's override); ``value`` as
        :func:`parse_value` gives it."""
        if rule not in RULE_KEYS:
            raise EditRefused([f"unknown rule {rule!r}; rules are: {', '.join(RULE_KEYS)}"])
        where = "rules" if account_id is None else f"accounts[id={account_id}].rules"

        def change(tree: CommentedMap) -> Edit:
            scope = tree if account_id is None else _entry(tree, account_id)
            before = _plain(_set_path(scope, ["rules", rule, key], value))
            return Edit(
                "rules.set",
                f"{where}.{rule}.{key}",
                before,
                value,
                {"rule": rule, "key": key, "account": account_id},
            )

        return self._edit(change)

    def add_account(self, account_id: int, name: str | None = None) -> Edit:
        """List an account under ``accounts.list`` (guarded, no overrides)."""

        def change(tree: CommentedMap) -> Edit:
            entries = _accounts(tree)
            if any(isinstance(e, Mapping) and e.get("id") == account_id for e in entries):
                raise EditRefused([f"account {account_id} is already listed"])
            entry = CommentedMap(id=account_id)
            if name:
                entry["name"] = name
            _append(entries, len(entries), entry)
            return Edit("accounts.add", f"accounts[id={account_id}]", None, dict(entry))

        return self._edit(change)

    def remove_account(self, account_id: int) -> Edit:
        """Take an account (and its overrides) off ``accounts.list``."""

        def change(tree: CommentedMap) -> Edit:
            entry = _entry(tree, account_id)
            entries = _accounts(tree)
            blank = _take_blank_lines(entries) if entries[-1] is entry else ""
            entries.remove(entry)
            _give_blank_lines(entries, blank)
            return Edit("accounts.remove", f"accounts[id={account_id}]", _plain(entry), None)

        return self._edit(change)

    def set_account_enabled(self, account_id: int, enabled: bool) -> Edit:
        """``enabled: true|false`` on a listed account."""

        def change(tree: CommentedMap) -> Edit:
            entry = _entry(tree, account_id)
            before = entry.get("enabled", True)
            if "enabled" in entry:
                entry["enabled"] = enabled
            else:
                _append(entry, "enabled", enabled)
            action = "accounts.enable" if enabled else "accounts.disable"
            return Edit(action, f"accounts[id={account_id}].enabled", before, enabled)

        return self._edit(change)

    def set_credentials(self, username: str | None, api_key: str, key_file: Path) -> Edit:
        """Seal ``api_key`` under the KEK (``RISK_MANAGER_KEK`` or ``key_file``, created 0600
        when neither exists) into ``broker.api_key_encrypted``, removing ``broker.api_key``;
        ``username`` replaces ``broker.username`` when given."""
        if not api_key.strip():
            raise EditRefused(["the API key is empty"])

        def change(tree: CommentedMap) -> Edit:
            broker = _child(tree, "broker")
            before = {
                "username": broker.get("username"),
                "api_key": _mask(
                    "api_key", broker.get("api_key") or broker.get("api_key_encrypted")
                ),
            }
            if username:
                broker["username"] = username
            sealed = encrypt_secret(api_key, kek_for_writing(key_file, self.env))
            if "api_key" in broker:  # the sealed key takes the plain one's line
                _replace_key(broker, "api_key", "api_key_encrypted", sealed)
            elif "api_key_encrypted" in broker:
                broker["api_key_encrypted"] = sealed
            else:
                _append(broker, "api_key_encrypted", sealed)
            after = {"username": broker.get("username"), "api_key": "set (encrypted)"}
            return Edit("credentials.set", "broker.api_key", before, after)

        return self._edit(change)


def _plain(node: Any) -> Any:
    if isinstance(node, Mapping):
        return {str(k): _mask(str(k), _plain(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node
