"""What every fidelity driver shares: the step recorder, the simulator's control API, and
waiting for hub events with a deadline.

Drivers run under a third-party client's own virtual environment (Python >= 3.12), so this
module uses the standard library only. A driver writes one JSON line per step to the report
file named in its configuration (``"report"``; stdout without one)::

    {"step": "rest.login", "ok": true, "detail": {...}}
    {"step": "hub.depth", "ok": false, "error": "TimeoutError: no GatewayDepth within 5 s"}

and ``tests/fidelity`` asserts on those lines (one pytest test per step). A file of its own,
because the clients log to stdout and stderr, some from their own threads.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import inspect
import json
import platform
import sys
import traceback
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

DEADLINE = 10.0  # seconds a hub event or a state change may take to show up


class StepFailed(AssertionError):
    """A step's check did not hold; the message says what was expected and what was seen."""


def check(condition: object, message: str) -> None:
    """Raise :class:`StepFailed` with ``message`` unless ``condition`` holds."""
    if not condition:
        raise StepFailed(message)


def jsonable(value: Any) -> Any:
    """``value`` with Decimals, datetimes and other objects turned into JSON-friendly text."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    return repr(value)


Body = Callable[[dict[str, Any]], Awaitable[None]]


@dataclass
class Steps:
    """Runs named steps, writing one JSON line per step as soon as it ends."""

    report: str | None = None  # the file the lines go to (appended); None: stdout
    results: dict[str, bool] = field(default_factory=dict)

    async def run(self, name: str, body: Body, *, needs: tuple[str, ...] = ()) -> bool:
        """Run ``await body(detail)`` as step ``name``; ``detail`` (a dict the body may fill)
        is reported with the result. A step whose ``needs`` did not pass is reported failed
        without running (its error names them), so one broken feature fails its own steps
        and those built on it, not the whole run. Returns whether the step passed."""
        detail: dict[str, Any] = {}
        missing = [need for need in needs if not self.results.get(need)]
        if missing:
            self._emit(name, False, detail, f"not run: needs {', '.join(missing)}")
            return False
        try:
            await body(detail)
        except Exception as error:
            self._emit(name, False, detail, describe(error))
            return False
        self._emit(name, True, detail, None)
        return True

    async def installed(self, distribution: str) -> None:
        """Step ``client.version``: the installed version of ``distribution`` (the pytest side
        checks it is the pinned one)."""

        async def read(detail: dict[str, Any]) -> None:
            detail["version"] = importlib.metadata.version(distribution)
            detail["python"] = platform.python_version()

        await self.run("client.version", read)

    def _emit(self, name: str, ok: bool, detail: dict[str, Any], error: str | None) -> None:
        self.results[name] = ok
        line: dict[str, Any] = {"step": name, "ok": ok, "detail": jsonable(detail)}
        if error is not None:
            line["error"] = error
        text = json.dumps(line) + "\n"
        if self.report is None:
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            with open(self.report, "a", encoding="utf-8") as report:
                report.write(text)


def describe(error: BaseException) -> str:
    """``Type: message`` of ``error`` and of the exceptions it was raised from, plus the
    innermost frame inside the client library (where in the client's code it broke)."""
    parts: list[str] = []
    seen: BaseException | None = error
    while seen is not None and len(parts) < 4:
        parts.append(f"{type(seen).__name__}: {seen}")
        seen = seen.__cause__ or seen.__context__
    frames = [
        f"{f.filename.split('site-packages/')[-1]}:{f.lineno} {f.name}"
        for f in traceback.extract_tb(error.__traceback__)
        if "site-packages" in f.filename
    ]
    where = f" [at {frames[-1]}]" if frames else ""
    return " <- ".join(parts) + where


@dataclass(frozen=True)
class Sim:
    """The simulator's control API (``/sim/...``, loopback, no token), called off the loop."""

    url: str

    async def price(self, contract_id: str, price: Decimal | str | int) -> dict[str, Any]:
        """Set the last price (bid/ask one tick around it); fills triggered orders."""
        # A JSON number: tick multiples of these contracts are exact binary fractions.
        return await self._post("/sim/price", {"contractId": contract_id, "price": float(price)})

    async def fault(self, kind: str, **fields: Any) -> dict[str, Any]:
        return await self._post("/sim/fault", {"kind": kind, **fields})

    async def api(self, path: str, body: dict[str, Any], token: str | None) -> dict[str, Any]:
        """``POST /api/<path>`` by hand, for a driver whose client has no REST side (the
        harness's own requests, not the client under test)."""
        return await asyncio.to_thread(call, "POST", f"{self.url}/api/{path}", body, token)

    async def _post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return await asyncio.to_thread(call, "POST", self.url + path, body)


def call(
    method: str, url: str, body: dict[str, Any] | None, token: str | None = None
) -> dict[str, Any]:
    """One JSON request (blocking); an HTTP error status is a :class:`StepFailed`."""
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=DEADLINE) as reply:
            answer: dict[str, Any] = json.loads(reply.read())
            return answer
    except urllib.error.HTTPError as error:
        raise StepFailed(f"{method} {url} {body}: {error.code} {error.read()!r}") from None


@dataclass
class Events:
    """Hub events a client delivered, by name, with a deadline-bound wait."""

    seen: dict[str, list[Any]] = field(default_factory=dict)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def add(self, name: str, payload: Any) -> None:
        """Record one event (call from the client's callback)."""
        self.seen.setdefault(name, []).append(payload)
        self._changed.set()

    def mark(self, name: str) -> int:
        """How many ``name`` events so far: pass it as ``after`` to wait only for newer ones."""
        return len(self.seen.get(name, []))

    async def wait(
        self,
        name: str,
        match: Callable[[Any], bool] = lambda _: True,
        *,
        after: int = 0,
        within: float = DEADLINE,
    ) -> Any:
        """The first ``name`` event past index ``after`` for which ``match`` is true;
        :class:`StepFailed` naming what was seen if none arrives ``within`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while True:
            for payload in self.seen.get(name, [])[after:]:
                with contextlib.suppress(Exception):
                    if match(payload):
                        return payload
            remaining = deadline - loop.time()
            if remaining <= 0:
                got = self.seen.get(name, [])[after:]
                raise StepFailed(
                    f"no matching {name} within {within:g} s; {len(got)} seen"
                    + (f", last: {str(jsonable(got[-1]))[:300]}" if got else "")
                )
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)


async def eventually(
    probe: Callable[[], Any], what: str, *, within: float = DEADLINE, every: float = 0.1
) -> Any:
    """Call ``probe()`` (awaiting it if it is async) until it returns something truthy, and
    return that; :class:`StepFailed` naming ``what`` (and the last value seen) after
    ``within`` seconds. For state that changes on its own (a fill, a reconnect)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    last: Any = None
    while True:
        last = probe()
        if inspect.isawaitable(last):
            last = await last
        if last:
            return last
        if loop.time() > deadline:
            raise StepFailed(f"{what} not seen within {within:g} s (last: {jsonable(last)})")
        await asyncio.sleep(every)


def last_saturday(now: datetime) -> tuple[datetime, datetime]:
    """06:00-18:00 UTC of the last whole Saturday before ``now``: CME futures are closed then
    (Friday 16:00 to Sunday 17:00 Chicago time), so a gateway has no bars for it."""
    back = (now.weekday() - 5) % 7 or 7
    day = (now - timedelta(days=back)).replace(hour=6, minute=0, second=0, microsecond=0)
    return day, day.replace(hour=18)


def weekdays_before(saturday: datetime) -> tuple[datetime, datetime]:
    """Monday to Friday 06:00 UTC of the week ending on ``saturday`` (a :func:`last_saturday`
    start): CME futures trade most of it whatever the holidays, so a gateway keeping to the
    trading hours has bars there (what shows its empty Saturday is the hours at work)."""
    return saturday - timedelta(days=5), saturday - timedelta(days=1)


def config() -> dict[str, Any]:
    """The driver's configuration: the JSON object given as the first argument."""
    parsed: dict[str, Any] = json.loads(sys.argv[1])
    return parsed
