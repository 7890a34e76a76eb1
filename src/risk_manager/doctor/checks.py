"""The checks ``risk-manager doctor`` runs, each returning :class:`Verdict` s. They read; none
changes anything: the service manager's status, a login to the gateway (the token's expiry,
the gateway's clock), the running daemon's ``/health``, ``/api/v1/accounts`` and
``/metrics``, and the store file (read-only)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import aiohttp
import psutil
from prometheus_client.parser import text_string_to_metric_families

from risk_manager.calendar import TradingCalendar
from risk_manager.config.models import Config
from risk_manager.doctor.clock import FAIL_S, WARN_S, least_offset, offset_bounds
from risk_manager.doctor.verdict import Status, Verdict
from risk_manager.projectx.token import jwt_times
from risk_manager.service.plan import control_command, uninstall_files
from risk_manager.service.spec import ServiceSpec
from risk_manager.store.backup import default_dir, list_backups
from risk_manager.store.db import connect_reader

TIMEOUT = aiohttp.ClientTimeout(total=10)
DISK_WARN = 1 << 30  # free bytes beside the store
DISK_FAIL = 200 << 20
MEMORY_WARN = 1 << 30  # the daemon's resident set
AVAILABLE_WARN = 256 << 20  # the machine's available memory
LATENCY_WARN_S = 0.5  # enforcement p95, event to action sent
LATENCY_FAIL_S = 2.0
LATENCY_METRIC = "risk_manager_event_to_action_seconds"
RSS_METRIC = "risk_manager_process_resident_memory_bytes"
RESTORE = "stop the daemon, restore the last backup (docs/OPERATIONS.md)"


# -- the service ------------------------------------------------------------------------------


def check_service(spec: ServiceSpec, install_hint: str) -> Verdict:
    """Installed (the service manager's file is there) and running (its status command)."""
    installed = all(Path(str(p)).exists() for p in uninstall_files(spec))
    command = control_command(spec, "status")
    if spec.platform == "linux":
        command = ["systemctl", "is-active", "--quiet", command[2]]
    if not installed:
        return Verdict(
            "service",
            "warn",
            "not installed as a service: nothing restarts the daemon if it stops",
            install_hint,
        )
    if shutil.which(command[0]) is None and not Path(command[0]).exists():
        return Verdict(
            "service",
            "fail",
            f"installed, but {command[0]} is not found: the service manager cannot be asked",
            "check the service manager (docs/INSTALL.md); is this the machine it was installed on?",
        )
    done = subprocess.run(command, capture_output=True, check=False, timeout=30)
    if done.returncode != 0:
        return Verdict(
            "service",
            "fail",
            f"installed but not running ({' '.join(command)} exit {done.returncode})",
            "start it: sudo risk-manager service start; then read its log (docs/OPERATIONS.md "
            '"Won\'t start")',
        )
    return Verdict("service", "ok", "installed and running")


# -- the gateway: login, token, clock ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LoginProbe:
    """One ``Auth/loginKey``: the reply, the server's ``Date`` header and our clock around it
    (epoch seconds)."""

    reply: Mapping[str, Any]
    date: datetime | None
    sent: float
    received: float


async def probe_login(config: Config) -> LoginProbe:
    """Log in once with the config's credentials (API doc §3.1 ``Auth/loginKey``); raises
    aiohttp/OS errors and TimeoutError when the gateway cannot be reached."""
    username, api_key = config.broker.credentials()
    url = f"{config.broker.api_url}/api/Auth/loginKey"
    body = {"userName": username, "apiKey": api_key.get_secret_value()}
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        sent = time.time()
        async with session.post(url, json=body) as response:
            received = time.time()
            reply = await response.json(content_type=None)
            raw_date = response.headers.get("Date")
    date = None
    if raw_date:
        try:
            date = parsedate_to_datetime(raw_date)
        except (TypeError, ValueError):
            date = None
    return LoginProbe(reply if isinstance(reply, dict) else {}, date, sent, received)


def check_login(probe: LoginProbe, now: datetime) -> Verdict:
    """The login's answer and the token's expiry."""
    reply = probe.reply
    token = reply.get("token")
    if not reply.get("success") or not isinstance(token, str) or not token:
        reason = reply.get("errorMessage") or f"errorCode {reply.get('errorCode')}"
        return Verdict(
            "login",
            "fail",
            f"the gateway refused the login: {reason}",
            "check PROJECTX_USERNAME and PROJECTX_API_KEY (TopstepX → Settings → API) and "
            "broker.api_url in the config",
        )
    _, expires = jwt_times(token)
    if expires is None:
        return Verdict("login", "ok", "works; the token's expiry is unreadable (refreshed daily)")
    left = expires - now
    hours = left.total_seconds() / 3600
    return Verdict(
        "login", "ok", f"works; the token expires {expires:%Y-%m-%d %H:%M} UTC (in {hours:.1f} h)"
    )


def check_clock(probe: LoginProbe) -> Verdict:
    """This machine's clock against the gateway's (``Date`` header, the token's ``iat``)."""
    bounds = []
    if probe.date is not None:
        bounds.append(offset_bounds(probe.date.timestamp(), probe.sent, probe.received))
    token = probe.reply.get("token")
    if isinstance(token, str):
        issued, _ = jwt_times(token)
        if issued is not None:
            bounds.append(offset_bounds(issued.timestamp(), probe.sent, probe.received))
    if not bounds:
        return Verdict(
            "clock",
            "warn",
            "the gateway sent no Date header nor token issue time: the offset is unknown",
            "keep the machine's clock synchronised (NTP: timedatectl, w32tm, sntp)",
        )
    offset = least_offset(bounds)
    ahead = "behind" if offset > 0 else "ahead of"
    text = f"{abs(offset):.1f} s {ahead} the gateway" if offset else "within 1 s of the gateway"
    fix = (
        "synchronise the clock (Linux: timedatectl set-ntp true; Windows: w32tm /resync; macOS:"
        " sntp -sS time.apple.com): the trading day and every lock's end are computed from it"
    )
    if abs(offset) > FAIL_S:
        return Verdict("clock", "fail", text, fix)
    if abs(offset) > WARN_S:
        return Verdict("clock", "warn", text, fix)
    return Verdict("clock", "ok", text)


# -- the running daemon -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DaemonReadings:
    """What the daemon's API answered: ``/health``, ``/api/v1/accounts``, ``/metrics``."""

    health: Mapping[str, Any]
    accounts: list[Mapping[str, Any]]
    metrics: str


async def read_daemon(url: str) -> DaemonReadings:
    """Read the daemon's API at ``url``; raises aiohttp/OS errors or TimeoutError."""
    async with aiohttp.ClientSession(timeout=TIMEOUT) as session:
        async with session.get(f"{url}/health") as r:
            health = await r.json()
        async with session.get(f"{url}/api/v1/accounts") as r:
            accounts = (await r.json()).get("accounts", [])
        async with session.get(f"{url}/metrics") as r:
            metrics = await r.text()
    return DaemonReadings(health, accounts, metrics)


def unreachable_daemon(url: str, error: BaseException) -> Verdict:
    """The verdict when the daemon's API does not answer."""
    return Verdict(
        "daemon",
        "fail",
        f"its API at {url} does not answer ({type(error).__name__}): nothing is guarded",
        "start it (risk-manager service start, or risk-manager run --config FILE) and read "
        'its log; docs/OPERATIONS.md "Won\'t start"',
    )


def check_daemon(readings: DaemonReadings) -> Verdict:
    """``/health``'s status and its problem."""
    health = readings.health
    status = health.get("status")
    if status == "ok":
        n = health.get("accounts_monitored")
        return Verdict("daemon", "ok", f"guarding {n} account(s), up {health.get('uptime')} s")
    return Verdict(
        "daemon",
        "fail",
        f"status {status}: {health.get('problem') or 'no reason given'}",
        "see docs/OPERATIONS.md (troubleshooting) for the problem named",
    )


def check_hubs(readings: DaemonReadings, now: datetime) -> Verdict:
    """Both hubs connected, and when the last event arrived."""
    hubs = readings.health.get("hubs") or {}
    down = [name for name in ("user", "market") if not (hubs.get(name) or {}).get("connected")]
    last = readings.health.get("last_event")
    if last:
        age = (now - datetime.fromisoformat(str(last).replace("Z", "+00:00"))).total_seconds()
        flow = f"last event {age:.0f} s ago"
    else:
        flow = "no event received yet"
    if down:
        return Verdict(
            "hubs",
            "fail",
            f"{' and '.join(down)} hub down; {flow}",
            "check the network to the gateway and the hub URLs; docs/OPERATIONS.md "
            '"Hub keeps dropping"',
        )
    return Verdict("hubs", "ok", f"user and market hubs connected; {flow}")


def check_daily_reset(
    readings: DaemonReadings, calendar: TradingCalendar, now: datetime
) -> Verdict:
    """Every account's ledger is on today's trading day: the last daily reset was applied."""
    today = calendar.trading_day(now)
    reset = calendar.day_start(now)
    behind = [
        f"{a.get('id')} on {a.get('ledger_day')}"
        for a in readings.accounts
        if a.get("ledger_day") not in (None, today.isoformat())
    ]
    if behind:
        return Verdict(
            "daily reset",
            "fail",
            f"the reset at {reset.isoformat(timespec='minutes')} was not applied: account(s) "
            + ", ".join(behind),
            "check the clock and trading_day.timezone; restart the daemon to re-reconcile",
        )
    if not readings.accounts:
        return Verdict("daily reset", "warn", "no account guarded", "see the daemon check")
    return Verdict(
        "daily reset",
        "ok",
        f"trading day {today}, since the reset at {reset.isoformat(timespec='minutes')}",
    )


def _samples(text: str) -> dict[str, list[tuple[dict[str, str], float]]]:
    out: dict[str, list[tuple[dict[str, str], float]]] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out.setdefault(sample.name, []).append((dict(sample.labels), float(sample.value)))
    return out


def latency_p95(metrics: str) -> tuple[float | None, int]:
    """(p95 of event-to-action latency in seconds, as the upper bound of its bucket; None
    when nothing was enforced yet) and the count of observations."""
    samples = _samples(metrics)
    buckets = sorted(
        (float(labels["le"]), value)
        for labels, value in samples.get(f"{LATENCY_METRIC}_bucket", [])
    )
    count = int(sum(v for _, v in samples.get(f"{LATENCY_METRIC}_count", [])))
    if count == 0:
        return None, 0
    for bound, cumulative in buckets:
        if cumulative >= 0.95 * count:
            return bound, count
    return float("inf"), count


def check_latency(readings: DaemonReadings) -> Verdict:
    """Enforcement latency p95 from ``/metrics``."""
    p95, count = latency_p95(readings.metrics)
    if p95 is None:
        return Verdict("latency", "ok", "no enforcement yet: nothing to measure")
    text = f"enforcement p95 ≤ {p95 * 1000:.1f} ms over {count} action(s)"
    fix = "the machine is overloaded or the store slow: docs/PERFORMANCE.md, docs/OPERATIONS.md"
    if p95 > LATENCY_FAIL_S:
        return Verdict("latency", "fail", text, fix)
    if p95 > LATENCY_WARN_S:
        return Verdict("latency", "warn", text, fix)
    return Verdict("latency", "ok", text)


def check_memory(readings: DaemonReadings | None) -> Verdict:
    """The daemon's resident memory (from ``/metrics``) and the machine's available memory."""
    available = psutil.virtual_memory().available
    rss = None
    if readings is not None:
        values = _samples(readings.metrics).get(RSS_METRIC, [])
        rss = values[0][1] if values else None
    text = f"{available / 2**20:.0f} MiB available"
    if rss is not None:
        text = f"daemon {rss / 2**20:.0f} MiB; " + text
    if available < AVAILABLE_WARN or (rss is not None and rss > MEMORY_WARN):
        return Verdict(
            "memory", "warn", text, "restart the daemon in a quiet hour and report the growth"
        )
    return Verdict("memory", "ok", text)


# -- the machine: disk, store, logs, backups --------------------------------------------------


def check_disk(store: Path) -> Verdict:
    """Free space where the store lives."""
    folder = store.parent if store.parent.exists() else Path.cwd()
    free = psutil.disk_usage(str(folder)).free
    text = f"{free / 2**30:.1f} GiB free at {folder}"
    fix = "free disk space: the store must be able to write every lock (RULES.md §5)"
    if free < DISK_FAIL:
        return Verdict("disk", "fail", text, fix)
    if free < DISK_WARN:
        return Verdict("disk", "warn", text, fix)
    return Verdict("disk", "ok", text)


def _integrity(store: Path) -> str:
    conn = connect_reader(store, busy_timeout=5.0)
    try:
        rows = conn.execute("PRAGMA integrity_check").fetchall()
    finally:
        conn.close()
    return "; ".join(str(r[0]) for r in rows)


def check_database(store: Path) -> Verdict:
    """The store's size and ``PRAGMA integrity_check`` (a read-only connection)."""
    if not store.exists():
        return Verdict(
            "database",
            "fail",
            f"{store} does not exist",
            "check store.path in the config; the daemon creates it at its first start",
        )
    size = sum(
        p.stat().st_size for p in (store, store.with_name(store.name + "-wal")) if p.exists()
    )
    try:
        answer = _integrity(store)
    except sqlite3.Error as exc:
        return Verdict(
            "database",
            "fail",
            f"{store} cannot be read: {exc}",
            RESTORE,
        )
    text = f"{store} {size / 2**20:.1f} MiB, integrity {answer}"
    if answer != "ok":
        return Verdict("database", "fail", text, RESTORE)
    return Verdict("database", "ok", text)


def check_logs(config: Config, service_installed: bool) -> Verdict:
    """Where the daemon's log goes and what rotates it."""
    if service_installed:
        return Verdict(
            "logs",
            "ok",
            f"{config.logging.format} lines to the service manager's log, which rotates it "
            "(journald, WinSW's roll-by-size, launchd's files)",
        )
    return Verdict(
        "logs",
        "warn",
        "the daemon logs to its standard error only: nothing keeps or rotates it",
        "install it as a service (risk-manager service install), whose log rotates",
    )


def check_backups(config: Config, now: datetime | None = None) -> Verdict:
    """Backups recent (docs/BACKUP.md): automatic backups on, and the newest in the backup
    folder (``backup.dir``, or ``backups`` beside the store) younger than ``backup.every``
    plus two hours."""
    backup = config.backup
    if not backup.enabled:
        return Verdict(
            "backups",
            "warn",
            "automatic backups are off (backup.enabled: false)",
            "turn them on, or copy the store daily with `risk-manager backup create`",
        )
    folder = backup.dir or default_dir(config.store.path)
    found = list_backups(folder)
    if not found:
        return Verdict(
            "backups",
            "warn",
            f"no backup in {folder} yet",
            "the daemon takes the first within a day of guarding; `risk-manager backup create` "
            "takes one now",
        )
    newest = found[0]
    age = (now or datetime.now(UTC)) - newest.taken_at
    due = backup.every + timedelta(hours=2)
    status: Status = "ok" if age <= due else "warn"
    return Verdict(
        "backups",
        status,
        f"newest {newest.path.name}, {age.total_seconds() / 3600:.0f} h old",
        None if status == "ok" else "backups are late: is the daemon running? see its log",
    )


def read_env_file(path: Path) -> dict[str, str]:
    """``KEY=VALUE`` lines of a systemd environment file (comments and blanks skipped); empty
    when it cannot be read (not root, not installed)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return {}
    pairs = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, value = line.split("=", 1)
            if value:
                pairs[key.strip()] = value.strip().strip('"')
    return pairs


def environment(spec: ServiceSpec) -> dict[str, str]:
    """This process's environment over the installed service's credentials file."""
    return read_env_file(Path(str(spec.env_file))) | dict(os.environ)
