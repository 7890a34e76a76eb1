"""Fuzz: config files (``config/loader.py``) and replay input (``cli/replay.py``).

A config is a ``Config`` or a ``ConfigError`` listing its problems, never another exception;
the secret in a broken file never appears in the problems. A replay input is read or refused
with ``BadLine`` naming the line, never another exception; the engine behind it, every rule
on, takes whatever replay lets through.
"""

from __future__ import annotations

import json
from typing import Any

import yaml
from hypothesis import given
from hypothesis import strategies as st

from risk_manager.cli.replay import BadLine, run_replay
from risk_manager.config.errors import ConfigError
from risk_manager.config.loader import parse_config
from risk_manager.config.rules import RulesConfig
from risk_manager.engine.factory import engine_for

from .test_fuzz_hub_frames import CONFIG
from .wire import CID, FUZZ, STAMP, USER_TARGETS, bad_records, dumps, good

SECRET = "s3cr3t-api-key-do-not-log"
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=12),
    st.sampled_from(["1s", "-5m", "17:00", "0x1F", "1e999", ".nan", "${NOPE}", "~", "yes"]),
)  # fmt: skip
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)
SETTINGS = ["enabled", "limit", "warn_at", "per_minute", "grace", "trailing", "target", "action"]


@st.composite
def config_texts(draw: st.DrawFn) -> str:
    """YAML that is almost a config: real rule keys and settings with any values, sections of
    the wrong type, unknown keys, or text that is not YAML at all."""
    if draw(st.integers(0, 9)) == 0:
        return draw(st.text(max_size=200))
    rules: dict[str, Any] = {}
    for key in draw(st.lists(st.sampled_from(sorted(RulesConfig.model_fields)), max_size=4)):
        rules[key] = draw(st.dictionaries(st.sampled_from(SETTINGS), values, max_size=4))
    doc: dict[str, Any] = {"rules": draw(st.just(rules) | values)}
    if draw(st.booleans()):
        doc["broker"] = {"api_key": SECRET, "username": draw(values)}
    doc.update(draw(st.dictionaries(st.sampled_from(["store", "api", "alerts", "x"]), values)))
    text = yaml.safe_dump(doc, allow_unicode=True)
    if draw(st.booleans()):  # a duplicate key, or a cut-off file
        text = text + text.splitlines()[0] + "\n" if draw(st.booleans()) else text[: len(text) // 2]
    return text


@FUZZ
@given(config_texts())
def test_a_config_is_read_or_refused_with_its_problems(text: str) -> None:
    try:
        parse_config(text, "fuzz.yaml", env={})
    except ConfigError as exc:
        assert exc.problems, "refused without saying why"
        assert SECRET not in str(exc) and all(SECRET not in p for p in exc.problems)


@st.composite
def replay_lines(draw: st.DrawFn) -> list[str]:
    out: list[str] = []
    for i in range(1, draw(st.integers(1, 10)) + 1):
        kind = draw(st.sampled_from(["good", "bad", "garbage", "value", "unknown", "tick"]))
        target = draw(st.sampled_from(USER_TARGETS))
        line: object
        if kind in ("good", "bad"):
            record = good(target, i) if kind == "good" else draw(bad_records(target, i))
            line = {"at": STAMP, "hub": "user", "target": target, "arguments": [record]}
        elif kind == "unknown":
            line = {"at": STAMP, "hub": "market", "target": "GatewayDepth", "arguments": [CID]}
        elif kind == "tick":
            line = {"at": draw(st.sampled_from([STAMP, "yesterday", 7, None]))}
        elif kind == "value":
            line = draw(values)
        else:
            out.append(draw(st.text(max_size=30)))
            continue
        out.append(dumps(line) if draw(st.booleans()) else json.dumps(line, default=str))
    return out


@FUZZ
@given(replay_lines())
def test_replay_input_is_read_or_refused_by_line(lines: list[str]) -> None:
    engine = engine_for(CONFIG)
    try:
        list(run_replay(engine, iter(lines), None, lambda _message: None))
    except BadLine as exc:
        assert str(exc).startswith("line "), exc
