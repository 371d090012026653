"""``SQLiteStore``: originals in one SQLite file, shared by every worker process on a host.

One table holds the originals (key, size, time put, bytes); a one-row ``meta`` table holds the sum of
the sizes, kept exact by triggers inside the same transaction as every insert and delete, so the byte
bound is enforced at ``put`` time by reading one row instead of summing the table (and stays right
whoever writes the file). Each ``put`` is one ``BEGIN IMMEDIATE`` transaction: renew the row if the key
is there, else evict the oldest rows until the new one fits (walking an index on the time put, so only
the evicted rows are read) and insert it. Reads never take the write lock (WAL journal).

Within a process, connections come from a small pool (each used by one thread at a time; reads run in
parallel, sqlite3 releases the GIL while SQLite works) and writes queue on a ``threading.Lock``:
threads handing a lock over is far cheaper than SQLite's busy handler, which sleeps in steps of
milliseconds. Across processes SQLite's own file locks serialize writers, each waiting up to
``timeout`` seconds.

Backend trouble (locked past the timeout, disk full, read-only or corrupt file, a closed store) never
raises from ``put``/``get``: ``put`` returns False, ``get`` returns None, and a warning is logged (at
most one per ``_WARN_EVERY`` seconds per store). The connection that failed is dropped and the next
call opens a fresh one, so a file that becomes usable again is used again.
"""

from __future__ import annotations

import logging
import math
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import TracebackType

__all__ = ["SQLiteStore"]

log = logging.getLogger("headroom_middleware")

# SQLite's default limit on a row (SQLITE_MAX_LENGTH, 10**9 bytes), less room for the key and sizes: a
# payload above it is refused like one above ``max_bytes`` instead of failing inside SQLite.
_MAX_PAYLOAD = 10**9 - 4096
_WARN_EVERY = 30.0  # seconds between two warnings from one store
_PURGE_EVERY = 60.0  # at most this many seconds between two purges of expired rows (per store object)
_WAL_KEEP = 64 * 2**20  # a WAL file larger than this is truncated back after a checkpoint

_SCHEMA = """
CREATE TABLE IF NOT EXISTS originals (
    key TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    put_at REAL NOT NULL,
    data BLOB NOT NULL  -- last, so reading the small columns never walks a big blob's pages
);
CREATE INDEX IF NOT EXISTS originals_by_age ON originals (put_at);  -- ties: by rowid, insertion order
CREATE TABLE IF NOT EXISTS meta (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    total_bytes INTEGER NOT NULL
);
INSERT INTO meta (id, total_bytes)
    SELECT 0, (SELECT coalesce(sum(size), 0) FROM originals) WHERE NOT EXISTS (SELECT 1 FROM meta);
CREATE TRIGGER IF NOT EXISTS originals_added AFTER INSERT ON originals
    BEGIN UPDATE meta SET total_bytes = total_bytes + NEW.size WHERE id = 0; END;
CREATE TRIGGER IF NOT EXISTS originals_removed AFTER DELETE ON originals
    BEGIN UPDATE meta SET total_bytes = total_bytes - OLD.size WHERE id = 0; END;
CREATE TRIGGER IF NOT EXISTS originals_resized AFTER UPDATE OF size ON originals
    BEGIN UPDATE meta SET total_bytes = total_bytes - OLD.size + NEW.size WHERE id = 0; END;
"""
_SCHEMA_NAMES = (
    "originals",
    "originals_by_age",
    "meta",
    "originals_added",
    "originals_removed",
    "originals_resized",
)


def _positive_number(name: str, value: object, *, zero_ok: bool = False) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or math.isnan(value)
        or value < 0
        or (value == 0 and not zero_ok)
    ):
        kind = "a number >= 0" if zero_ok else "a positive number"
        raise ValueError(f"{name} must be {kind}, got {value!r}")
    return value


def _database_path(path: str | os.PathLike[str]) -> Path:
    """``path`` made absolute, its folder created; ValueError/TypeError when it cannot be a database file."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    raw = os.fspath(path)
    if not isinstance(raw, str):
        raise TypeError(f"path must name a file as str, got {raw!r}")
    if raw in ("", ":memory:") or raw.startswith("file:") or "\0" in raw:
        raise ValueError(
            f"path must name a database file shared by the workers, got {raw!r} "
            "(MemoryStore serves one process)"
        )
    file = Path(raw).expanduser().absolute()
    if file.is_dir():
        raise ValueError(f"path is a folder, not a database file: {str(file)!r}")
    try:
        file.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"cannot create the folder for the database {str(file)!r}: {exc}") from exc
    return file


class SQLiteStore:
    """A ``Store`` in one SQLite file, shared by threads and processes: byte bound, TTL, oldest first.

    ``max_bytes`` bounds the sum of the stored payload sizes in the file (SQLite's own pages and
    indexes are not counted); a payload larger than it is refused (``put`` returns False). When a new
    payload does not fit, the rows put longest ago are deleted until it does. Entries expire
    ``ttl_seconds`` after their last ``put``: ``get`` returns None for them, and expired rows are
    deleted at most every minute by some ``put``. Times come from ``timer`` (seconds, wall clock:
    it is compared across processes; tests may pass a fake one). ``timeout`` is how long a call waits
    for another writer before giving up (``put`` False). The file and its folder are created if missing;
    every process using the file should pass the same ``max_bytes`` and ``ttl_seconds``.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_bytes: int = 1 << 30,
        ttl_seconds: float = 1800,
        timeout: float = 5.0,
        timer: Callable[[], float] = time.time,
    ) -> None:
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes < 1:
            raise ValueError(f"max_bytes must be a positive int, got {max_bytes!r}")
        self.max_bytes = max_bytes
        self.ttl_seconds = _positive_number("ttl_seconds", ttl_seconds)
        self.timeout = _positive_number("timeout", timeout, zero_ok=True)
        if math.isinf(self.timeout):
            raise ValueError(f"timeout must be finite, got {timeout!r}")
        if not callable(timer):
            raise TypeError(f"timer must be callable, got {type(timer).__name__}")
        self.path = _database_path(path)
        self._timer = timer
        self._purge_every = min(self.ttl_seconds, _PURGE_EVERY)
        self._next_purge = -math.inf
        self._ready = False  # schema known to exist (checked again after any failure)
        self._closed = False
        self._reset_locks()
        self._last_warning = -math.inf
        self._quiet_failures = 0
        store = weakref.ref(self)
        os.register_at_fork(before=lambda: _before_fork(store), after_in_child=lambda: _after_fork(store))
        try:
            with self._connection():  # create the file and its schema now when possible
                pass
        except sqlite3.DatabaseError as exc:
            if not isinstance(exc, sqlite3.OperationalError):  # not a database, or a corrupt one
                raise ValueError(f"{str(self.path)!r} is not a usable SQLite database: {exc}") from exc
            self._warn("open", exc)  # locked, read-only, ...: may pass, so put/get keep trying
        except sqlite3.Error as exc:
            self._warn("open", exc)

    def _reset_locks(self) -> None:
        self._lock = threading.Lock()  # guards the pool, the flags and the warning state
        self._write_lock = threading.Lock()
        self._idle: list[sqlite3.Connection] = []

    def put(self, key: str, data: bytes) -> bool:
        """Store ``data`` under ``key`` (renewing its lifetime if already there).

        False, and nothing stored, when ``data`` is larger than ``max_bytes`` or the file cannot be
        written (a warning is then logged).
        """
        if not isinstance(key, str):
            raise TypeError(f"key must be str, got {type(key).__name__}")
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"data must be bytes, got {type(data).__name__}")
        size = data.nbytes if isinstance(data, memoryview) else len(data)
        if size > self.max_bytes or size > _MAX_PAYLOAD:
            return False
        try:
            with self._connection() as conn:
                if not self._write_lock.acquire(timeout=self.timeout):
                    raise sqlite3.OperationalError("database is locked (by this process's writers)")
                try:
                    self._write(conn, key, bytes(data), size)
                finally:
                    self._write_lock.release()
        except sqlite3.Error as exc:
            self._warn("put", exc)
            return False
        return True

    def get(self, key: str) -> bytes | None:
        """The bytes stored under ``key``, or None when unknown, expired or unreadable."""
        if not isinstance(key, str):
            return None
        try:
            with self._connection() as conn:
                rows = conn.execute(
                    "SELECT data FROM originals WHERE key = ? AND put_at > ?",
                    (key, self._timer() - self.ttl_seconds),
                ).fetchall()  # all: the statement finishes, so no read snapshot is left open
        except sqlite3.Error as exc:
            self._warn("get", exc)
            return None
        return bytes(rows[0][0]) if rows else None

    def _write(self, conn: sqlite3.Connection, key: str, data: bytes, size: int) -> None:
        """One transaction: renew ``key`` or make room and insert it; purge expired rows when due."""
        conn.execute("BEGIN IMMEDIATE")  # take the write lock first: no deadlock upgrading a read
        now = self._timer()  # read under the lock, so times put follow the order of the writes
        try:
            if now >= self._next_purge:
                conn.execute("DELETE FROM originals WHERE put_at <= ?", (now - self.ttl_seconds,))
            renewed = conn.execute("UPDATE originals SET put_at = ? WHERE key = ?", (now, key)).rowcount
            if not renewed:
                ((total,),) = conn.execute("SELECT total_bytes FROM meta WHERE id = 0").fetchall()
                if total + size > self.max_bytes:
                    self._evict(conn, total + size - self.max_bytes)
                conn.execute(
                    "INSERT OR IGNORE INTO originals (key, size, put_at, data) VALUES (?, ?, ?, ?)",
                    (key, size, now, data),
                )
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        if now >= self._next_purge:
            self._next_purge = now + self._purge_every

    @staticmethod
    def _evict(conn: sqlite3.Connection, needed: int) -> None:
        """Delete the oldest rows until at least ``needed`` bytes are freed (reads only those rows)."""
        doomed: list[tuple[int]] = []
        freed = 0
        rows = conn.execute("SELECT rowid, size FROM originals ORDER BY put_at, rowid")
        try:
            for rowid, size in rows:
                doomed.append((rowid,))
                freed += size
                if freed >= needed:
                    break
        finally:
            rows.close()
        conn.executemany("DELETE FROM originals WHERE rowid = ?", doomed)

    @contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        """A connection for this thread alone; dropped (not reused) when the work in it failed."""
        with self._lock:
            if self._closed:
                raise sqlite3.ProgrammingError("the store is closed")
            conn = self._idle.pop() if self._idle else None
        if conn is None:
            conn = self._open()
        try:
            yield conn
        except BaseException:
            with self._lock:
                self._ready = False  # the file may have been replaced: check the schema again
            _close_quietly(conn)
            raise
        with self._lock:
            if not self._closed:
                self._idle.append(conn)
                return
        _close_quietly(conn)

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
        try:
            conn.execute("PRAGMA synchronous = NORMAL")  # safe in WAL; a power cut may lose the last puts
            conn.execute(f"PRAGMA journal_size_limit = {_WAL_KEEP}")
            if not self._ready:
                self._setup(conn)
                self._ready = True
        except BaseException:
            _close_quietly(conn)
            raise
        return conn

    @staticmethod
    def _setup(conn: sqlite3.Connection) -> None:
        """WAL mode and the schema, writing only what is missing (so a held write lock stops no read)."""
        ((mode,),) = conn.execute("PRAGMA journal_mode").fetchall()
        if mode != "wal":
            conn.execute("PRAGMA journal_mode = WAL")  # stored in the file: set once, seen by all
        ((found,),) = conn.execute(
            f"SELECT count(*) FROM sqlite_master WHERE name IN ({','.join('?' * len(_SCHEMA_NAMES))})",
            _SCHEMA_NAMES,
        ).fetchall()
        if found == len(_SCHEMA_NAMES):
            return
        try:  # one transaction, so processes starting together do not race
            conn.executescript(f"BEGIN IMMEDIATE;{_SCHEMA}COMMIT;")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _warn(self, operation: str, exc: BaseException) -> None:
        """Log a backend failure, at most once per ``_WARN_EVERY`` seconds (counting the quiet ones)."""
        now = time.monotonic()
        with self._lock:
            if now - self._last_warning < _WARN_EVERY:
                self._quiet_failures += 1
                return
            quiet, self._quiet_failures, self._last_warning = self._quiet_failures, 0, now
        more = f" ({quiet} more failures since the last warning)" if quiet else ""
        log.warning(
            "headroom: SQLiteStore %s failed on %s (%s: %s)%s",
            operation,
            self.path,
            type(exc).__name__,
            exc,
            more,
        )

    def close(self) -> None:
        """Close the connections; afterwards ``put`` returns False and ``get`` None. Idempotent."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn in idle:
            _close_quietly(conn)

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"SQLiteStore({str(self.path)!r}, max_bytes={self.max_bytes}, "
            f"ttl_seconds={self.ttl_seconds}, timeout={self.timeout})"
        )


def _before_fork(store: weakref.ref[SQLiteStore]) -> None:
    """Close the idle connections before a fork: SQLite state must not be copied into a child."""
    s = store()
    if s is not None:
        with s._lock:
            idle, s._idle = s._idle, []
        for conn in idle:
            _close_quietly(conn)


def _after_fork(store: weakref.ref[SQLiteStore]) -> None:
    """In a forked child: new locks (another thread may have held one at the fork), an empty pool."""
    s = store()
    if s is not None:
        s._reset_locks()


def _close_quietly(conn: sqlite3.Connection) -> None:
    with suppress(sqlite3.Error):
        conn.close()
