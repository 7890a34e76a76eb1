"""Token manager: JWT exp, refresh margin, validate → login fallback, never logged."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from projectx.px_fakes import FakeClock, FakeGateway, make_jwt, refused
from risk_manager.domain.errors import AuthenticationFailed, BrokerRefused
from risk_manager.projectx.client import ProjectXClient
from risk_manager.projectx.token import TokenManager, jwt_times


def test_jwt_times_reads_iat_and_exp(clock: FakeClock) -> None:
    iat, exp = jwt_times(make_jwt(clock.now, timedelta(hours=24)))
    assert iat == clock.now
    assert exp == clock.now + timedelta(hours=24)
    assert jwt_times("not-a-jwt") == (None, None)
    assert jwt_times("a.!!!.c") == (None, None)


async def test_token_is_reused_until_the_refresh_margin(
    client: ProjectXClient, gateway: FakeGateway, clock: FakeClock
) -> None:
    first = await client.token()
    clock.advance(timedelta(hours=21, minutes=30).total_seconds())  # 2.5 h left: still fresh
    assert await client.token() == first
    clock.advance(timedelta(minutes=10).total_seconds())  # 2h20m left < 10% of 24 h
    second = await client.token()
    assert second != first
    assert gateway.calls("Auth/validate") == 1
    assert gateway.calls("Auth/loginKey") == 1
    assert client.tokens.expires_at == clock.now + timedelta(hours=24)


async def test_short_lived_token_uses_the_five_minute_floor(
    client: ProjectXClient, gateway: FakeGateway, clock: FakeClock
) -> None:
    gateway.lifetime = timedelta(minutes=20)  # 10% would be 2 min; the floor is 5 min
    first = await client.token()
    clock.advance(14 * 60)
    assert await client.token() == first
    clock.advance(90)
    assert await client.token() != first


async def test_validate_failure_falls_back_to_login(
    client: ProjectXClient, gateway: FakeGateway, clock: FakeClock
) -> None:
    await client.token()
    gateway.script("Auth/validate", refused(3))
    clock.advance(23 * 3600)
    await client.token()
    assert gateway.calls("Auth/validate") == 1
    assert gateway.calls("Auth/loginKey") == 2


async def test_expired_token_goes_straight_to_login(
    client: ProjectXClient, gateway: FakeGateway, clock: FakeClock
) -> None:
    await client.token()
    clock.advance(25 * 3600)
    await client.token()
    assert gateway.calls("Auth/validate") == 0
    assert gateway.calls("Auth/loginKey") == 2


async def test_the_token_and_api_key_never_reach_logs_messages_or_reprs(
    client: ProjectXClient,
    gateway: FakeGateway,
    clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    errors: list[str] = []
    await client.search_accounts()
    gateway.valid.clear()  # 401 → renew
    await client.search_accounts()
    clock.advance(23 * 3600)
    gateway.script("Auth/validate", refused(1, "bad session"))
    await client.search_accounts()  # validate fails → login again
    gateway.script("Order/cancel", refused(2, "nope"))
    with pytest.raises(BrokerRefused) as refusal:
        await client.cancel_order(1, 2)
    errors.append(str(refusal.value))
    gateway.valid.clear()
    gateway.script("Auth/loginKey", refused(3))
    with pytest.raises(AuthenticationFailed) as auth:
        await client.search_accounts()
    errors.append(str(auth.value))
    secrets = [*gateway.issued, "secret-api-key"]
    assert len(gateway.issued) >= 3
    text = caplog.text + "\n".join(errors) + repr(client) + repr(client.tokens)
    for secret in secrets:
        assert secret not in text
        for part in secret.split("."):
            assert part not in text or len(part) < 12  # no recognisable JWT segment either


async def test_concurrent_callers_share_one_login(
    client: ProjectXClient, gateway: FakeGateway
) -> None:
    import asyncio

    tokens = await asyncio.gather(*(client.token() for _ in range(10)))
    assert len(set(tokens)) == 1
    assert gateway.calls("Auth/loginKey") == 1


def test_repr_hides_the_token(clock: FakeClock) -> None:
    async def never() -> str:
        raise AssertionError

    async def never_validate(_: str) -> str:
        raise AssertionError

    manager = TokenManager(never, never_validate, clock)
    assert "redacted" in repr(manager)


async def test_any_validate_failure_falls_back_to_login(
    client: ProjectXClient, gateway: FakeGateway, clock: FakeClock
) -> None:
    await client.token()
    gateway.script("Auth/validate", (400, "", {}))
    clock.advance(23 * 3600)
    await client.token()
    assert gateway.calls("Auth/loginKey") == 2
