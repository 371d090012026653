"""CCR keys: the name under which an original is stored.

A key is the blake2b digest (12 bytes, 24 lowercase hex characters) of the exact bytes stored. It
depends on nothing but those bytes (no hash seed, no process state), so the same original gets the
same key in every process and on every host, and a re-sent conversation reads byte-identical.
"""

from __future__ import annotations

import hashlib
import re
from typing import TypeGuard

KEY_LENGTH = 24
_KEY_RE = re.compile(r"[0-9a-f]{24}")


def make_key(data: bytes) -> str:
    """The CCR key of ``data``: blake2b, 12-byte digest, as 24 lowercase hex characters."""
    return hashlib.blake2b(data, digest_size=12).hexdigest()


def is_key(value: object) -> TypeGuard[str]:
    """True when ``value`` is a well-formed key (checked before any store sees it)."""
    return isinstance(value, str) and len(value) == KEY_LENGTH and _KEY_RE.fullmatch(value) is not None
