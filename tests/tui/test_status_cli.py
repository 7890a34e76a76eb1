from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator

import pytest
from typer.testing import CliRunner

from risk_manager.api.memory import MemoryReadModel
from risk_manager.api.server import running_api
from risk_manager.cli.main import app
from risk_manager.runtime.metrics import Metrics

runner = CliRunner()


@pytest.fixture
def served(model: MemoryReadModel) -> Iterator[tuple[str, MemoryReadModel]]:
    """The API on its own thread and loop (the CLI runs asyncio.run itself)."""
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    stop = asyncio.Event()
    url: list[str] = []

    async def serve() -> None:
        async with running_api(model, Metrics(), port=0) as api:
            url.append(api.url)
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(10), "API thread did not start"
    try:
        yield url[0], model
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()


def test_status_prints_a_table_of_accounts(served: tuple[str, MemoryReadModel]) -> None:
    url, _ = served
    result = runner.invoke(app, ["status", "--url", url], env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    assert "daemon ok" in result.output
    assert "150KTC-V2-478426-52758441" in result.output
    assert "LOCKED" in result.output and "100.60 of 600.00" in result.output


def test_status_json_is_the_health_and_account_views(served: tuple[str, MemoryReadModel]) -> None:
    url, _ = served
    result = runner.invoke(app, ["status", "--url", url, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["health"]["status"] == "ok"
    assert [a["id"] for a in data["accounts"]] == [20258288, 20258301]
    assert data["accounts"][0]["pnl"]["net"] == "-499.40"


def test_status_exits_2_when_the_daemon_is_degraded(served: tuple[str, MemoryReadModel]) -> None:
    url, model = served
    model.set_health(status="degraded")  # no subscribers, so safe from this thread
    result = runner.invoke(app, ["status", "--url", url, "--json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["health"]["status"] == "degraded"


def test_status_exits_1_with_a_clear_message_when_unreachable() -> None:
    with socket.socket() as s:  # a port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = runner.invoke(app, ["status", "--url", f"http://127.0.0.1:{port}"])
    assert result.exit_code == 1
    assert f"not reachable at http://127.0.0.1:{port}" in result.stderr
    assert "--url" in result.stderr
