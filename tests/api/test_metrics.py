from __future__ import annotations

from prometheus_client import REGISTRY

from risk_manager.runtime.metrics import FAMILIES, LATENCY_BUCKETS, Metrics, resident_memory_bytes


def sample(m: Metrics, name: str, labels: dict[str, str] | None = None) -> float | None:
    value = m.registry.get_sample_value(name, labels or {})
    return None if value is None else float(value)


def test_each_call_moves_its_own_series() -> None:
    m = Metrics()
    m.event_processed("GatewayUserTrade")
    m.event_processed("GatewayUserTrade")
    m.enforcement("daily_net_loss", "confirmed")
    m.set_active_locks(7, 2)
    m.set_active_locks(7, 0)
    m.hub_state("user", True)
    m.hub_state("user", False)
    m.hub_reconnect("user")
    m.rest_error("/api/Order/cancel", "http_500")
    m.rest_error("/api/History/retrieveBars", "rate_limited")
    assert sample(m, "risk_manager_events_processed_total", {"kind": "GatewayUserTrade"}) == 2
    assert (
        sample(m, "risk_manager_enforcement_actions_total",
               {"rule": "daily_net_loss", "outcome": "confirmed"}) == 1
    )  # fmt: skip
    assert sample(m, "risk_manager_active_locks", {"account": "7"}) == 0
    m.set_active_locks(7, 3)
    m.set_active_locks(7, 3)  # unchanged: the gauge is not touched, and still says 3
    m.set_active_locks(8, 0)  # a first count of 0 is a series too
    assert sample(m, "risk_manager_active_locks", {"account": "7"}) == 3
    assert sample(m, "risk_manager_active_locks", {"account": "8"}) == 0
    assert sample(m, "risk_manager_hub_connected", {"hub": "user"}) == 0
    assert sample(m, "risk_manager_hub_reconnects_total", {"hub": "user"}) == 1
    assert (
        sample(m, "risk_manager_rest_errors_total",
               {"endpoint": "/api/Order/cancel", "kind": "http_500"}) == 1
    )  # fmt: skip
    assert (
        sample(m, "risk_manager_rest_rate_limited_total",
               {"endpoint": "/api/History/retrieveBars"}) == 1
    )  # fmt: skip


def test_latency_buckets_span_50_microseconds_to_one_second() -> None:
    assert LATENCY_BUCKETS[0] == 0.00005 and LATENCY_BUCKETS[-1] == 1.0
    assert list(LATENCY_BUCKETS) == sorted(LATENCY_BUCKETS)
    m = Metrics()
    m.observe_latency(0.00004)
    m.observe_latency(0.003)
    m.observe_latency(2.0)
    bucket = "risk_manager_event_to_action_seconds_bucket"
    assert sample(m, bucket, {"le": "5e-05"}) == 1
    assert sample(m, bucket, {"le": "0.005"}) == 2
    assert sample(m, bucket, {"le": "1.0"}) == 2
    assert sample(m, bucket, {"le": "+Inf"}) == 3


def test_registries_are_private_so_two_daemons_never_collide() -> None:
    a, b = Metrics(), Metrics()
    a.event_processed("x")
    assert sample(b, "risk_manager_events_processed_total", {"kind": "x"}) is None
    assert REGISTRY.get_sample_value("risk_manager_events_processed_total", {"kind": "x"}) is None


def test_memory_is_read_at_scrape_time() -> None:
    rss = resident_memory_bytes()
    assert rss is not None and rss > 1_000_000
    m = Metrics()
    assert (sample(m, "risk_manager_process_resident_memory_bytes") or 0) > 1_000_000
    text = m.render().decode()
    for family in FAMILIES:
        assert f"# HELP {family}" in text
