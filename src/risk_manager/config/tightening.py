"""Whether a settings change tightens or loosens (``admin.loosen_delay``, docs/RULES.md §2
"Clearings and loosenings"): a tightening applies at once, anything else waits.

Each settings model says which way each of its settings tightens (the ``tighter`` class
variable of the rule configs, ``RulesConfig`` for the engine-wide settings, ``AdminConfig``).
A change is a tightening only when every setting that changed has an entry and moves that
way; a setting without an entry, a value that cannot be compared, or a mix of tighter and
looser counts as a loosening (fail closed). A rule off before guards nothing, so any change
to it (turning it on with whatever settings, or keeping it off) applies at once.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from risk_manager.config.rules import RuleConfig
from risk_manager.config.types import Tighter

Change = Literal["same", "tighter", "looser"]


def compare_settings(
    old: Mapping[str, Any], new: Mapping[str, Any], tighter: Mapping[str, Tighter]
) -> Change:
    """``same`` when equal, ``tighter`` when every changed setting (by name) provably
    tightens per ``tighter``, else ``looser``."""
    if dict(old) == dict(new):
        return "same"
    for name in old.keys() | new.keys():
        before, after = old.get(name), new.get(name)
        if before == after:
            continue
        way = tighter.get(name)
        if way is None or not _tightens(way, before, after):
            return "looser"
    return "tighter"


def compare_rule(old: RuleConfig, new: RuleConfig) -> Change:
    """A rule's change: ``same``, ``tighter`` (applied at once: also any change to a rule
    that was off, turning it on included, whatever its dormant settings) or ``looser``."""
    if old == new:
        return "same"
    if not old.enabled:  # it guarded nothing: off again changes nothing, on guards more
        return "tighter"
    return compare_settings(fields_of(old), fields_of(new), type(old).tighter)


def fields_of(model: Any, names: list[str] | None = None) -> dict[str, Any]:
    """The model's settings by name (all its fields, or ``names``), as values."""
    return {name: getattr(model, name) for name in (names or list(type(model).model_fields))}


def _tightens(way: Tighter, before: Any, after: Any) -> bool:
    try:
        if isinstance(way, tuple):
            return before in way and after in way and way.index(after) < way.index(before)
        if way == "on":
            return before is False and after is True
        if way == "off":
            return before is True and after is False
        if way == "lower":  # None: no limit, the loosest
            return after is not None and (before is None or bool(after < before))
        if way == "higher":
            return after is not None and (before is None or bool(after > before))
        if way == "fewer_each":
            old, new = dict(before or {}), dict(after or {})
            return all(key in new and new[key] <= limit for key, limit in old.items())
        if way == "more_items":
            return set(before or ()) <= set(after or ())
    except TypeError:  # values that do not compare: not provably tighter
        return False
    return False
