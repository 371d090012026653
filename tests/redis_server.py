"""A real ``redis-server`` for tests: started on a free 127.0.0.1 port, killed and restarted on demand.

No conftest involvement: tests import this module (``tests/`` is put on ``sys.path`` by the test file,
as the import mode is ``importlib``). ``find_binary()`` says whether a server can run here at all.
Readiness is an actual ``PING`` answered with ``PONG`` (not a sleep): while a restarted server loads
its append-only file it answers ``-LOADING`` and is not ready yet.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

__all__ = ["RedisServer", "find_binary", "free_port"]

START_TIMEOUT = 30.0
"""Seconds a server may take to answer PING before the test fails (a hang guard, not a speed check)."""


def find_binary() -> str | None:
    """The ``redis-server`` executable on PATH, or None."""
    return shutil.which("redis-server")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def ping(port: int, timeout: float = 1.0) -> bool:
    """True when a server on ``port`` answers ``PING`` with ``PONG`` (not ``-LOADING``)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(b"PING\r\n")
            return s.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """One ``redis-server`` process in its own directory, on one port that survives restarts.

    ``persistent``: ``--appendonly yes --appendfsync always`` (every acknowledged write is on disk
    before the reply, so a SIGKILL loses nothing acknowledged); otherwise nothing is ever saved.
    """

    def __init__(self, workdir: Path, *, persistent: bool = False, binary: str | None = None) -> None:
        found = binary or find_binary()
        if found is None:
            raise FileNotFoundError("redis-server is not on PATH")
        self.binary = found
        self.workdir = workdir
        self.persistent = persistent
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start the server (again, on the same port and directory) and wait until it answers PING."""
        assert self.process is None, "already running"
        self.workdir.mkdir(parents=True, exist_ok=True)
        args = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        args += ["--dir", str(self.workdir), "--daemonize", "no", "--logfile", "server.log"]
        if self.persistent:
            args += ["--appendonly", "yes", "--appendfsync", "always"]
        else:
            args += ["--appendonly", "no"]
        self.process = subprocess.Popen(
            args,
            cwd=self.workdir,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.starts += 1
        deadline = time.monotonic() + START_TIMEOUT
        while not ping(self.port):
            if self.process.poll() is not None:
                err = self.process.stderr.read().decode(errors="replace") if self.process.stderr else ""
                self.process = None
                raise RuntimeError(f"redis-server exited at start: {err.strip()} {self.log_tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"redis-server did not answer PING in {START_TIMEOUT} s: {self.log_tail()}"
                )
            time.sleep(0.02)

    def kill(self) -> None:
        """SIGKILL the server (no shutdown save, no goodbye to clients) and reap it."""
        if self.process is None:
            return
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self._close_pipes()
        self.process = None

    def restart(self) -> None:
        self.kill()
        self.start()

    def stop(self) -> None:
        """Terminate the server if it runs (SIGTERM, then SIGKILL if it lingers)."""
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._close_pipes()
        self.process = None

    def log_tail(self, lines: int = 10) -> str:
        log = self.workdir / "server.log"
        if not log.exists():
            return ""
        return os.linesep.join(log.read_text(errors="replace").splitlines()[-lines:])

    def _close_pipes(self) -> None:
        if self.process is not None and self.process.stderr is not None:
            self.process.stderr.close()
