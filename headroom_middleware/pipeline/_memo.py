"""The memo: compressed results by content hash, so a re-sent conversation is not crushed again.

Keys are blake2b digests of (tool name, query, content): the memo never holds the originals, only the
compressed text (bounded by the token budget) and its CCR keys. An entry is only trusted while the
store still holds its originals; the pipeline checks that on every hit and recompresses otherwise
(deterministic engines give the same bytes and keys back, so nothing the model saw changes).
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass

from cachetools import LRUCache


@dataclass(frozen=True, slots=True)
class Entry:
    """What compressing one result gave. ``text`` is None when the result is best left as it was."""

    text: str | None
    keys: tuple[str, ...]
    strategy: str
    tokens_before: int
    tokens_after: int


def memo_key(text: str, tool_name: str | None, query: str | None) -> bytes:
    """Digest of everything the compressed form depends on besides the pipeline's config."""
    h = hashlib.blake2b(digest_size=16)
    for field in (tool_name, query):
        b = b"\x00" if field is None else b"\x01" + field.encode("utf-8", "surrogatepass")
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    h.update(text.encode("utf-8", "surrogatepass"))
    return h.digest()


class Memo:
    """A thread-safe bounded LRU of ``Entry`` by ``memo_key`` (size 0: remembers nothing)."""

    def __init__(self, size: int) -> None:
        self._cache: LRUCache[bytes, Entry] | None = LRUCache(maxsize=size) if size > 0 else None
        self._lock = threading.Lock()

    def get(self, key: bytes) -> Entry | None:
        if self._cache is None:
            return None
        with self._lock:
            return self._cache.get(key)

    def put(self, key: bytes, entry: Entry) -> None:
        if self._cache is None:
            return
        with self._lock:
            self._cache[key] = entry

    def discard(self, key: bytes) -> None:
        if self._cache is None:
            return
        with self._lock:
            self._cache.pop(key, None)

    def __len__(self) -> int:
        if self._cache is None:
            return 0
        with self._lock:
            return len(self._cache)
