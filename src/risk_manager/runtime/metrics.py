"""Prometheus metrics of the daemon, in a registry of its own (served by ``GET /metrics``).

A registry per ``Metrics`` (not the global default) so tests and several daemons in one
process never collide.
"""

from __future__ import annotations

from collections.abc import Iterator

import psutil
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

#: Event-to-action latency buckets, 50 µs to 1 s: the engine step is sub-millisecond, a
#: broker round trip is tens of milliseconds.
LATENCY_BUCKETS = (
    0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
    0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
)  # fmt: skip

PREFIX = "risk_manager"
FAMILIES = (
    f"{PREFIX}_events_processed",
    f"{PREFIX}_event_to_action_seconds",
    f"{PREFIX}_enforcement_actions",
    f"{PREFIX}_active_locks",
    f"{PREFIX}_hub_connected",
    f"{PREFIX}_hub_reconnects",
    f"{PREFIX}_rest_errors",
    f"{PREFIX}_rest_rate_limited",
    f"{PREFIX}_wire_records_rejected",
    f"{PREFIX}_process_resident_memory_bytes",
    f"{PREFIX}_event_loop_lag_seconds",
)


def resident_memory_bytes() -> int | None:
    """This process's resident set size in bytes (psutil, every platform), or None where the
    OS refuses to say."""
    try:
        return int(psutil.Process().memory_info().rss)
    except psutil.Error:
        return None


class _MemoryCollector(Collector):
    """Reads RSS at scrape time, so the value is never stale."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        family = GaugeMetricFamily(
            f"{PREFIX}_process_resident_memory_bytes", "Resident memory of the daemon in bytes."
        )
        rss = resident_memory_bytes()
        if rss is not None:
            family.add_metric([], float(rss))
        yield family


class Metrics:
    """The daemon's counters, gauges and histogram; the runtime calls the methods below."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self._events = Counter(
            f"{PREFIX}_events_processed", "Events processed by the engine.", ["kind"], registry=r
        )
        self._event_kinds: dict[str, Counter] = {}  # kind -> its labelled child
        self._lock_counts: dict[int, int] = {}  # account -> active locks as last set
        self._latency = Histogram(
            f"{PREFIX}_event_to_action_seconds",
            "Time from an event's arrival to its action being sent.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self._enforcements = Counter(
            f"{PREFIX}_enforcement_actions",
            "Enforcement actions by rule and outcome.",
            ["rule", "outcome"],
            registry=r,
        )
        self._locks = Gauge(
            f"{PREFIX}_active_locks", "Active locks per account.", ["account"], registry=r
        )
        self._hub_connected = Gauge(
            f"{PREFIX}_hub_connected", "1 while the hub is connected.", ["hub"], registry=r
        )
        self._hub_reconnects = Counter(
            f"{PREFIX}_hub_reconnects", "Hub reconnections.", ["hub"], registry=r
        )
        self._rest_errors = Counter(
            f"{PREFIX}_rest_errors",
            "Gateway REST errors by endpoint and kind.",
            ["endpoint", "kind"],
            registry=r,
        )
        self._rate_limited = Counter(
            f"{PREFIX}_rest_rate_limited",
            "Gateway REST replies with HTTP 429.",
            ["endpoint"],
            registry=r,
        )
        self._missed = Counter(
            f"{PREFIX}_missed_events",
            "Differences the periodic reconciliation found between the broker and the ledger.",
            ["account"],
            registry=r,
        )
        self._wire_rejected = Counter(
            f"{PREFIX}_wire_records_rejected",
            "Gateway records (or REST replies) rejected as unreadable, by source (user, market,"
            " rest), target (hub event or endpoint) and fault.",
            ["source", "target", "fault"],
            registry=r,
        )
        self._loop_lag = Gauge(
            f"{PREFIX}_event_loop_lag_seconds",
            "Worst event-loop lag of the last minute (how late a 0.25 s sleep woke up).",
            registry=r,
        )
        r.register(_MemoryCollector())

    def event_processed(self, kind: str, n: int = 1) -> None:
        """``n`` events of class ``kind`` handled by an actor (a quote to 500 accounts is 500
        events, so the labelled child is looked up once per kind, not per call)."""
        child = self._event_kinds.get(kind)
        if child is None:
            child = self._event_kinds[kind] = self._events.labels(kind=kind)
        child.inc(n)

    def observe_latency(self, seconds: float) -> None:
        self._latency.observe(seconds)

    def enforcement(self, rule: str, outcome: str) -> None:
        self._enforcements.labels(rule=rule, outcome=outcome).inc()

    def set_active_locks(self, account_id: int, n: int) -> None:
        """The account's active locks now (called for every account once a second: the gauge
        is touched only when the count changed, a labelled lookup each was ~4 ms of the event
        loop at 500 accounts)."""
        if self._lock_counts.get(account_id) == n:
            return
        self._lock_counts[account_id] = n
        self._locks.labels(account=str(account_id)).set(n)

    def hub_state(self, hub: str, connected: bool) -> None:
        self._hub_connected.labels(hub=hub).set(1 if connected else 0)

    def hub_reconnect(self, hub: str) -> None:
        self._hub_reconnects.labels(hub=hub).inc()

    def rest_error(self, endpoint: str, kind: str) -> None:
        """One failed REST attempt (the client's ``on_rest_error``); a 429 counts twice: as an
        error of its kind and on the rate-limited counter."""
        self._rest_errors.labels(endpoint=endpoint, kind=kind).inc()
        if kind == "rate_limited":
            self._rate_limited.labels(endpoint=endpoint).inc()

    def missed_events(self, account_id: int) -> None:
        self._missed.labels(account=str(account_id)).inc()

    def wire_record_rejected(self, source: str, target: str, fault: str) -> None:
        """One record rejected at the wire boundary (``projectx.wire_faults``)."""
        self._wire_rejected.labels(source=source, target=target, fault=fault).inc()

    def loop_lag(self, seconds: float) -> None:
        """The worst event-loop lag of the last minute (``runtime.loop_lag``)."""
        self._loop_lag.set(seconds)

    def render(self) -> bytes:
        """The Prometheus text exposition of this registry."""
        return bytes(generate_latest(self.registry))
