"""A local alert webhook for tests: an aiohttp server on a fixed port that can fail with given
statuses, refuse connections (while down) and record every alert it took."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

PATH = "/hook/secret-token"  # a token in the path, as real webhooks have: never to be logged


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Receiver:
    """Answers ``statuses`` in turn (then 204) and records what it took (``taken``); while not
    ``up``, connections to its port are refused."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.port = free_port()
        self.statuses = list(statuses or [])
        self.taken: list[dict[str, Any]] = []
        self.refused_before = 0  # posts answered with an error status
        self._server: TestServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{PATH}"

    def reasons(self) -> list[str]:
        return [str(body["reason"]) for body in self.taken]

    async def _hook(self, request: web.Request) -> web.Response:
        body = await request.json()
        if self.statuses:
            self.refused_before += 1
            return web.Response(status=self.statuses.pop(0))
        self.taken.append(body)
        return web.Response(status=204)

    async def up(self) -> None:
        app = web.Application()
        app.router.add_post(PATH, self._hook)
        self._server = TestServer(app, host="127.0.0.1", port=self.port)
        await self._server.start_server()

    async def down(self) -> None:
        if self._server is not None:
            await self._server.close()
            self._server = None


@asynccontextmanager
async def receiver(statuses: list[int] | None = None) -> AsyncIterator[Receiver]:
    """A :class:`Receiver`, down until the test calls ``up()``; closed at the end."""
    hook = Receiver(statuses)
    try:
        yield hook
    finally:
        await hook.down()
