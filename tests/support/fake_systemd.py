"""A fake systemd for the notify protocol: a real unix datagram socket, bound in a short temp
folder (``sun_path`` holds 108 bytes), that records every datagram with its arrival time."""

from __future__ import annotations

import shutil
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class FakeSystemd:
    """Receives notify datagrams on a socket in a short temp folder (sun_path is 108 bytes)."""

    dir: Path
    path: Path
    sock: socket.socket
    received: list[tuple[float, str]]
    _stop: threading.Event
    _thread: threading.Thread

    def __init__(self) -> None:
        if sys.platform == "win32":
            raise RuntimeError("no unix datagram sockets on Windows: systemd is Linux's")
        self.dir = Path(tempfile.mkdtemp(prefix="rm-notify-", dir="/tmp"))
        self.path = self.dir / "notify.sock"
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(self.path))
        self.sock.settimeout(0.1)
        self.received = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._receive, daemon=True)
        self._thread.start()

    def _receive(self) -> None:
        while not self._stop.is_set():
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                continue
            self.received.append((time.monotonic(), data.decode()))

    def states(self) -> list[str]:
        return [text for _, text in self.received]

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sock.close()
        shutil.rmtree(self.dir, ignore_errors=True)


@contextmanager
def fake_systemd() -> Iterator[FakeSystemd]:
    """A :class:`FakeSystemd` for the block."""
    fake = FakeSystemd()
    try:
        yield fake
    finally:
        fake.close()
